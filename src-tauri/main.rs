// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--export-bindings") {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(caixa_app::BINDINGS_PATH);
        match caixa_app::export_bindings().map(|text| std::fs::write(&path, text)) {
            Ok(Ok(())) => println!("wrote {}", path.display()),
            Ok(Err(e)) => {
                eprintln!("cannot write {}: {e}", path.display());
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("cannot export bindings: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    caixa_app::run();
}
