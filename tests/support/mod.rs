//! Helpers shared by the end-to-end tests (`tests/e2e_*.rs`): free ports, temp dirs, process
//! guards that stop drivers with SIGTERM, polling waits, the real-window (tauri-driver) and
//! visitor (chromedriver + headless Chromium) WebDriver sessions, screenshots into
//! `test-artifacts/`.
//!
//! Each test file that uses it declares `mod support;` — not every test uses every helper.
#![allow(dead_code)]

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

pub type TestError = Box<dyn std::error::Error>;
pub type TestResult<T = ()> = Result<T, TestError>;

/// A WebDriver client builder over plain HTTP: the drivers listen on loopback, no TLS needed.
/// (fantoccini's `rustls-tls` would add aws-lc-rs next to reqwest's ring, and rustls then has two
/// providers and panics in `ClientConfig::builder()`.)
pub fn webdriver_builder(caps: Value) -> ClientBuilder<HttpConnector> {
    let mut builder = ClientBuilder::new(HttpConnector::new());
    if let Value::Object(caps) = caps {
        builder.capabilities(caps);
    }
    builder
}

/// Default poll interval of the waits: short, so measured delays stay close to the truth.
pub const POLL: Duration = Duration::from_millis(50);

/// Print a line tagged with the time since the first call (the test's own log in test output).
pub fn log(msg: impl AsRef<str>) {
    static START: Mutex<Option<Instant>> = Mutex::new(None);
    let start = *START.lock().unwrap().get_or_insert_with(Instant::now);
    eprintln!(
        "e2e [{:>7.2}s] {}",
        start.elapsed().as_secs_f64(),
        msg.as_ref()
    );
}

/// A string unique to this process and call, for texts the test must recognise.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}-{}-{:x}-{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// `$CAIXA_ARTIFACTS_DIR`, else `<repo>/test-artifacts`; created if missing.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("CAIXA_ARTIFACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("test-artifacts"));
    std::fs::create_dir_all(&dir).expect("create artifacts dir");
    dir
}

/// A loopback TCP port that is free right now and not handed out before in this process.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind 127.0.0.1:0")
            .port();
        let mut given = GIVEN.lock().unwrap();
        if given.get_or_insert_with(HashSet::new).insert(port) {
            return port;
        }
    }
}

/// Wait until something accepts TCP connections on 127.0.0.1:`port`.
pub async fn wait_for_port(what: &str, port: u16, timeout: Duration) -> TestResult {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let start = Instant::now();
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(format!("{what} did not listen on {addr} within {timeout:?}").into());
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A directory under the system temp dir, removed on drop (kept when `CAIXA_E2E_KEEP=1`).
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::env::var("CAIXA_E2E_KEEP").as_deref() == Ok("1") {
            eprintln!("e2e: keeping {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Find an executable on `PATH` (and in `~/.cargo/bin`, where `cargo install` puts tools).
pub fn find_program(name: &str) -> TestResult<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("`{name}` not found on PATH: run scripts/setup.sh").into())
}

/// A child process that is stopped when dropped: SIGTERM first, to it and then to whatever
/// descendants it leaves behind (SIGKILL only after a grace period). Never SIGKILL a WebDriver
/// first: a killed tauri-driver orphans WebKitWebDriver, which keeps the test's output open.
/// Its stdout and stderr go to a log file in the artifacts dir, never to a pipe nobody reads.
pub struct ProcessGuard {
    name: String,
    child: Child,
    pub log_path: PathBuf,
}

impl ProcessGuard {
    /// `envs`: `(name, Some(value))` sets a variable, `(name, None)` removes it.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[&str],
        envs: &[(&str, Option<OsString>)],
    ) -> TestResult<Self> {
        let log_path = artifacts_dir().join(format!("{name}.log"));
        let out = File::create(&log_path)?;
        let err = out.try_clone()?;
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        for (k, v) in envs {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        log(format!(
            "started {name} (pid {}), log: {}",
            child.id(),
            log_path.display()
        ));
        Ok(ProcessGuard {
            name: name.to_string(),
            child,
            log_path,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails if the process has already exited (e.g. could not bind its port).
    pub fn check_alive(&mut self) -> TestResult {
        match self.child.try_wait()? {
            None => Ok(()),
            Some(status) => Err(format!(
                "{} exited early ({status}); see {}",
                self.name,
                self.log_path.display()
            )
            .into()),
        }
    }

    /// The last `n` lines of its log (for failure messages).
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for ProcessGuard {
    fn drop(&mut self) {
        let pid = self.child.id();
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let descendants = descendants_of(pid);
        signal(pid, "TERM");
        let exited = wait_exit(&mut self.child, Duration::from_secs(5));
        // Whatever it did not take down with it (e.g. WebKitWebDriver, the app, chromium).
        let left: Vec<u32> = descendants.into_iter().filter(|p| alive(*p)).collect();
        for p in &left {
            signal(*p, "TERM");
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while left.iter().any(|p| alive(*p)) && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        for p in left.iter().filter(|p| alive(**p)) {
            signal(*p, "KILL");
        }
        if !exited {
            eprintln!("e2e: {} did not exit on SIGTERM; SIGKILL", self.name);
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; treat state Z as gone.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}

fn wait_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Parent pid of every process, from /proc.
fn process_table() -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ..." — comm may contain spaces and parentheses.
        if let Some(ppid) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse::<u32>().ok())
        {
            out.push((pid, ppid));
        }
    }
    out
}

/// All descendants of `pid` (children first, then theirs…).
pub fn descendants_of(pid: u32) -> Vec<u32> {
    let table = process_table();
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            table
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// Poll `probe` every `interval` until it returns `Ok(Some(v))`; errors count as "not yet"
/// (stale elements, elements not rendered yet…) and the last one is reported on timeout.
pub async fn wait_for<T>(
    what: &str,
    timeout: Duration,
    interval: Duration,
    mut probe: impl AsyncFnMut() -> TestResult<Option<T>>,
) -> TestResult<T> {
    let start = Instant::now();
    let mut last_err: Option<String> = None;
    loop {
        match probe().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_err = Some(e.to_string()),
        }
        if start.elapsed() > timeout {
            let detail = last_err
                .map(|e| format!(" (last error: {e})"))
                .unwrap_or_default();
            return Err(format!("timed out after {timeout:?} waiting for {what}{detail}").into());
        }
        tokio::time::sleep(interval).await;
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}

/// Run `script` (a function body: use `return`, `arguments[i]`) in the page every `POLL` until it
/// returns something truthy, and return that. One round trip per poll, no stale element refs.
pub async fn wait_js(
    client: &Client,
    what: &str,
    timeout: Duration,
    script: &str,
    args: Vec<Value>,
) -> TestResult<Value> {
    wait_for(what, timeout, POLL, async || {
        let v = client.execute(script, args.clone()).await?;
        Ok(truthy(&v).then_some(v))
    })
    .await
}

/// CSS selector of a `data-testid`.
pub fn testid(id: &str) -> String {
    format!("[data-testid=\"{id}\"]")
}

/// Wait until an element matching `css` exists and is displayed; return it.
pub async fn wait_visible(client: &Client, css: &str, timeout: Duration) -> TestResult<Element> {
    wait_for(
        &format!("`{css}` to be visible"),
        timeout,
        POLL,
        async || {
            let el = client.find(Locator::Css(css)).await?;
            Ok(el.is_displayed().await?.then_some(el))
        },
    )
    .await
}

/// Wait for an element, then click it.
pub async fn click(client: &Client, css: &str, timeout: Duration) -> TestResult {
    let el = wait_visible(client, css, timeout).await?;
    el.click().await?;
    Ok(())
}

/// Wait for an input, clear it, then type `text` into it (real key events).
pub async fn type_into(client: &Client, css: &str, text: &str, timeout: Duration) -> TestResult {
    let el = wait_visible(client, css, timeout).await?;
    el.clear().await?;
    el.send_keys(text).await?;
    Ok(())
}

/// Save a PNG screenshot of the session's window into the artifacts dir; never fails the test.
pub async fn screenshot(client: &Client, name: &str) {
    let path = artifacts_dir().join(format!("{name}.png"));
    match tokio::time::timeout(Duration::from_secs(10), client.screenshot()).await {
        Ok(Ok(png)) => match std::fs::write(&path, png) {
            Ok(()) => log(format!("screenshot: {}", path.display())),
            Err(e) => log(format!("screenshot {name}: cannot write: {e}")),
        },
        Ok(Err(e)) => log(format!("screenshot {name} failed: {e}")),
        Err(_) => log(format!("screenshot {name} timed out")),
    }
}

/// Screenshot of the whole X display (ImageMagick `import`), e.g. when WebDriver cannot answer.
pub fn screenshot_display(name: &str) {
    let path = artifacts_dir().join(format!("{name}.png"));
    let convert_ok = Command::new("import")
        .args(["-window", "root"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if convert_ok {
        log(format!("display screenshot: {}", path.display()));
    } else {
        log(format!(
            "display screenshot {name} failed (is imagemagick installed?)"
        ));
    }
}

/// Save the page's DOM (as serialized now) into the artifacts dir; never fails the test.
pub async fn save_source(client: &Client, name: &str) {
    let path = artifacts_dir().join(format!("{name}.html"));
    if let Ok(Ok(src)) = tokio::time::timeout(Duration::from_secs(15), client.source()).await {
        let _ = std::fs::write(&path, src);
    }
}

/// End a WebDriver session (closes the app window / browser), bounded in time.
pub async fn close_session(client: Client, name: &str) {
    match tokio::time::timeout(Duration::from_secs(20), client.close()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => log(format!("closing {name} session: {e}")),
        Err(_) => log(format!("closing {name} session timed out")),
    }
}

/// The environment the app under test runs with: its data dir, gateway address and private
/// XDG dirs (so the webview's own storage never leaks between runs or from the user's
/// profile), plus `extra`.
pub fn app_envs(
    data: &Path,
    xdg: &Path,
    gateway_listen: &str,
    extra: Vec<(&'static str, OsString)>,
) -> Vec<(&'static str, OsString)> {
    let mut envs: Vec<(&'static str, OsString)> = vec![
        ("CAIXA_DATA_DIR", data.into()),
        ("CAIXA_GATEWAY_LISTEN", gateway_listen.into()),
        ("XDG_DATA_HOME", xdg.join("data").into()),
        ("XDG_CACHE_HOME", xdg.join("cache").into()),
        ("XDG_CONFIG_HOME", xdg.join("config").into()),
        ("RUST_LOG", "info".into()),
    ];
    envs.extend(extra);
    envs
}

/// tauri-driver (which starts WebKitWebDriver, which starts the app) and a session on it.
pub struct AppDriver {
    pub driver: ProcessGuard,
    pub port: u16,
}

impl AppDriver {
    /// Start tauri-driver on free ports; `envs` are inherited by the app it launches.
    ///
    /// WEBKIT_DISABLE_DMABUF_RENDERER (set by scripts/test-env.sh to save memory) is removed for
    /// the app: with it, WebKitWebDriver's screenshot command hangs under Xvfb (and every command
    /// after it). The default renderer is also what users' desktops run.
    pub async fn start(envs: &[(&str, OsString)]) -> TestResult<Self> {
        let mut envs: Vec<(&str, Option<OsString>)> =
            envs.iter().map(|(k, v)| (*k, Some(v.clone()))).collect();
        if !envs
            .iter()
            .any(|(k, _)| *k == "WEBKIT_DISABLE_DMABUF_RENDERER")
        {
            envs.push(("WEBKIT_DISABLE_DMABUF_RENDERER", None));
        }
        let tauri_driver = find_program("tauri-driver")?;
        if !Path::new("/usr/bin/WebKitWebDriver").exists() {
            find_program("WebKitWebDriver")?;
        }
        let port = free_port();
        let native_port = free_port();
        let (p, np) = (port.to_string(), native_port.to_string());
        let mut driver = ProcessGuard::spawn(
            "tauri-driver",
            &tauri_driver,
            &["--port", &p, "--native-port", &np],
            &envs,
        )?;
        if let Err(e) = wait_for_port("tauri-driver", port, Duration::from_secs(20)).await {
            driver.check_alive()?;
            return Err(e);
        }
        Ok(AppDriver { driver, port })
    }

    /// Open a session: launches the app binary in a real window.
    pub async fn session(&mut self, application: &Path) -> TestResult<Client> {
        let caps = json!({
            "browserName": "wry",
            "tauri:options": { "application": application.to_string_lossy() },
        });
        let url = format!("http://127.0.0.1:{}", self.port);
        let connect = webdriver_builder(caps).connect(&url).await;
        connect.map_err(|e| {
            format!(
                "cannot open a session on tauri-driver: {e}\n--- tauri-driver.log (tail) ---\n{}",
                self.driver.log_tail(40)
            )
            .into()
        })
    }
}

/// chromedriver and a headless Chromium session (the website visitor).
pub struct BrowserDriver {
    pub driver: ProcessGuard,
    pub port: u16,
    pub profile: TempDir,
}

impl BrowserDriver {
    pub async fn start() -> TestResult<Self> {
        let chromedriver = find_program("chromedriver")?;
        let port = free_port();
        let mut driver = ProcessGuard::spawn(
            "chromedriver",
            &chromedriver,
            &[&format!("--port={port}")],
            &[],
        )?;
        if let Err(e) = wait_for_port("chromedriver", port, Duration::from_secs(20)).await {
            driver.check_alive()?;
            return Err(e);
        }
        Ok(BrowserDriver {
            driver,
            port,
            profile: TempDir::new("caixa-e2e-chromium"),
        })
    }

    pub async fn session(&mut self) -> TestResult<Client> {
        let chromium =
            find_program("chromium").unwrap_or_else(|_| PathBuf::from("/usr/bin/chromium"));
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--password-store=basic", "--window-size=1280,900",
                    format!("--user-data-dir={}", self.profile.path().display()),
                ],
            },
        });
        let url = format!("http://127.0.0.1:{}", self.port);
        let connect = webdriver_builder(caps).connect(&url).await;
        connect.map_err(|e| {
            format!(
                "cannot open a Chromium session: {e}\n--- chromedriver.log (tail) ---\n{}",
                self.driver.log_tail(40)
            )
            .into()
        })
    }
}

/// The app binary under test: `$CAIXA_E2E_APP`, else the one cargo built for this test run.
pub fn app_binary() -> TestResult<PathBuf> {
    let path = std::env::var_os("CAIXA_E2E_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_caixa")));
    let path = std::fs::canonicalize(&path).map_err(|e| {
        format!(
            "app binary {}: {e} (cargo build --bin caixa)",
            path.display()
        )
    })?;
    Ok(path)
}

/// Fail early with a clear message when there is no display.
pub fn require_display() -> TestResult {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err("no DISPLAY: run E2E tests under scripts/test-env.sh (Xvfb + D-Bus)".into());
    }
    Ok(())
}
