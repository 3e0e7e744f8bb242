// Progressive enhancement of the enrollment form: Dropzone uploads each file as soon as it is dropped.
// Without JavaScript the plain file input and its Upload button do the same; the server checks both alike.
(function () {
  "use strict";
  var element = document.getElementById("dropzone");
  if (!element || !window.Dropzone) { return; }
  Dropzone.autoDiscover = false;
  var list = document.getElementById("documents");
  var form = document.getElementById("enrollment-form");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var maxFiles = parseInt(element.dataset.maxFiles, 10);

  function addToList(doc) {
    var item = document.createElement("li");
    item.className = "list-group-item";
    var label = document.createElement("span");
    label.innerHTML = '<i class="fas fa-file mr-2"></i>';
    label.appendChild(document.createTextNode(doc.name + " "));
    var size = document.createElement("small");
    size.className = "text-muted";
    size.textContent = doc.size;
    label.appendChild(size);
    var remove = document.createElement("button");
    remove.type = "submit";
    remove.name = "remove";
    remove.value = doc.id;
    remove.formNoValidate = true;
    remove.className = "btn btn-sm btn-outline-danger";
    remove.textContent = element.dataset.removeLabel;
    item.appendChild(label);
    item.appendChild(remove);
    list.appendChild(item);
  }

  element.hidden = false;
  document.getElementById("plain-upload").hidden = true;
  new Dropzone(element, {
    url: element.dataset.url,
    paramName: "file",
    maxFilesize: parseFloat(element.dataset.maxSize),
    acceptedFiles: "image/jpeg,image/png,application/pdf,.jpg,.jpeg,.png,.pdf",
    headers: { "X-CSRFToken": csrf },
    dictDefaultMessage: element.dataset.message,
    dictFileTooBig: element.dataset.tooBig,
    dictInvalidFileType: element.dataset.wrongType,
    dictResponseError: element.dataset.serverError,
    accept: function (file, done) {
      if (list.children.length >= maxFiles) { done(element.dataset.tooMany || "×"); } else { done(); }
    },
    init: function () {
      this.on("success", function (file, response) {
        response.documents.forEach(addToList);
        this.removeFile(file);
      });
    }
  });
}());
