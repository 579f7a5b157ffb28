// Tributary dashboard: asks before destructive forms (data-confirm) and ticks every box of a
// group (data-check-all). No framework, no build step.
document.addEventListener('submit', (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) event.preventDefault();
});
document.addEventListener('change', (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.dataset.checkAll) return;
  for (const other of document.querySelectorAll(`input[name="${box.dataset.checkAll}"]`)) other.checked = box.checked;
});
