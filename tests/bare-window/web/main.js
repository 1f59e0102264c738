// Paint a small list, then (after the frame that shows it) tell the shell, like Caixa's uiReady.
const list = document.getElementById("list");
for (let i = 1; i <= 20; i++) {
  const li = document.createElement("li");
  li.textContent = "Row " + i;
  list.appendChild(li);
}
requestAnimationFrame(() =>
  requestAnimationFrame(() => window.__TAURI_INTERNALS__.invoke("ui_ready")),
);
