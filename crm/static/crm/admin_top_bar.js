// The CRM's items for jazzmin's top bar, rendered by the server in a <template>: placed before the language and
// user menus on the right.
(function () {
  var items = document.getElementById("crm-top-bar");
  var bar = document.querySelector("#jazzy-navbar .navbar-nav.ms-auto");
  if (items && bar) bar.prepend(items.content.cloneNode(true));
})();
