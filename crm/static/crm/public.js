// The public pages' language menu switches as soon as a language is picked (a button does it without script).
document.addEventListener("DOMContentLoaded", function () {
  var menu = document.getElementById("language");
  if (menu) menu.addEventListener("change", function () { menu.form.submit(); });
});
