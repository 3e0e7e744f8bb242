// The audit desk's Copy button: the student's link onto the clipboard (no inline script: the CSP allows none).
document.addEventListener("DOMContentLoaded", function () {
  var input = document.getElementById("public-link");
  var button = document.getElementById("copy-link");
  if (!input || !button) return;
  input.addEventListener("click", function () { input.select(); });
  button.addEventListener("click", function () {
    input.select();
    var copied = navigator.clipboard ? navigator.clipboard.writeText(input.value) : Promise.reject();
    copied.catch(function () { document.execCommand("copy"); });
    button.textContent = button.dataset.copied;
  });
});
