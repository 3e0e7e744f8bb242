// Words the admin's frame writes in English whatever the language: AdminLTE's accessibility script adds skip
// links, "(required)" and "Navigation N" labels from its own JavaScript, jazzmin's base.html has a few fixed
// attributes, and Django's boolean icons say True/False. The page's language gives the words (data-* below).
// Runs after AdminLTE's own DOMContentLoaded handler (this script is deferred, AdminLTE's is not).
(function () {
  // Django's two-box picker asks a box whether anything is selected by making it required for a moment
  // (SelectFilter2.js); AdminLTE takes the "invalid" event that answers it for an error and shows the browser's
  // "Please select an item" under every picker. Caught on the way down, before AdminLTE's listener on the box.
  document.addEventListener("invalid", function (event) {
    if (event.target.matches("select.filtered")) event.stopPropagation();
  }, true);

  var words = document.currentScript.dataset;
  function fix() {
    document.querySelectorAll("a.skip-link[href='#main']").forEach(function (a) { a.textContent = words.skipMain; });
    document.querySelectorAll("a.skip-link[href='#navigation']").forEach(function (a) { a.textContent = words.skipNavigation; });
    document.querySelectorAll(".required-indicator").forEach(function (span) { span.textContent = " " + words.required; });
    document.querySelectorAll("[aria-label^='Navigation ']").forEach(function (nav) {
      nav.setAttribute("aria-label", words.navigation + " " + nav.getAttribute("aria-label").slice(11));
    });
    document.querySelectorAll("[aria-label='Main navigation']").forEach(function (nav) {
      nav.setAttribute("aria-label", words.mainNavigation);
    });
    document.querySelectorAll("[title='Choose language']").forEach(function (a) { a.title = words.chooseLanguage; });
    document.querySelectorAll("img.brand-image[alt$=' Logo']").forEach(function (img) { img.alt = words.logo; });
    var booleans = {True: words.yes, False: words.no, None: words.unknown};
    document.querySelectorAll("img[src*='/admin/img/icon-']").forEach(function (img) {
      if (img.alt in booleans) img.alt = booleans[img.alt];
    });
  }
  // A deferred script runs while the document is "interactive", before DOMContentLoaded (and AdminLTE's handler).
  if (document.readyState === "complete") fix();
  else document.addEventListener("DOMContentLoaded", fix);
})();
