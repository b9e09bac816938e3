// Phone photos before upload: a form with data-upload-limit="<bytes>" gets its images made
// smaller in the browser (long side at most 2560 px, JPEG quality 0.85, the photo turned the way
// the camera held it), and any file still over the limit is refused before anything is sent,
// with the form's data-too-large message under the field. Plain script (no modules, no
// libraries) so that WeChat's in-app browser runs it; where a step is missing (no canvas, no
// DataTransfer) the file goes as chosen and the server's own limit still answers.
(function () {
  var MAX_SIDE = 2560;
  var QUALITY = 0.85;
  var IMAGE = /^image\/(jpeg|png)$/i;

  function errorBox(input) {
    return document.getElementById(input.id + "-error");
  }

  function say(input, text) {
    var box = errorBox(input);
    if (box) box.textContent = text;
    input.classList.toggle("is-invalid", !!text);
  }

  // The picture, drawn the right way up: createImageBitmap with the EXIF orientation applied,
  // else an <img>, which current browsers also draw turned by its EXIF orientation.
  function decode(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file, { imageOrientation: "from-image" }).catch(function () {
        return decodeWithImg(file);
      });
    }
    return decodeWithImg(file);
  }

  function decodeWithImg(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file);
      var img = new Image();
      img.onload = function () { URL.revokeObjectURL(url); resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error("not an image")); };
      img.src = url;
    });
  }

  function shrink(file, limit) {
    if (!IMAGE.test(file.type) || !window.HTMLCanvasElement) return Promise.resolve(file);
    return decode(file).then(function (picture) {
      var w = picture.width, h = picture.height, side = Math.max(w, h);
      if (side <= MAX_SIDE && file.size <= limit) return file;  // small enough as it is
      var scale = Math.min(1, MAX_SIDE / side);
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(w * scale));
      canvas.height = Math.max(1, Math.round(h * scale));
      var ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff";  // a transparent PNG becomes a JPEG on white, not black
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(picture, 0, 0, canvas.width, canvas.height);
      if (picture.close) picture.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob) { resolve(file); return; }
          var name = file.name.replace(/\.[^.]*$/, "") + ".jpg";
          resolve(new File([blob], name, { type: "image/jpeg", lastModified: Date.now() }));
        }, "image/jpeg", QUALITY);
      });
    }).catch(function () { return file; });  // cannot read it here: let the server judge
  }

  function replaceFile(input, file) {
    if (file === input.files[0]) return true;
    try {
      var dt = new DataTransfer();
      dt.items.add(file);
      input.files = dt.files;
      return true;
    } catch (e) {
      return false;  // this browser cannot swap the file: the original goes (or is refused)
    }
  }

  function prepare(form, event) {
    if (form.dataset.uploadReady === "1") return;  // already shrunk: send it
    var limit = parseInt(form.dataset.uploadLimit, 10);
    var inputs = Array.prototype.filter.call(
      form.querySelectorAll("input[type=file]"), function (i) { return i.files && i.files.length; }
    );
    if (!inputs.length || !limit) return;
    event.preventDefault();
    var button = form.querySelector("button");
    if (button) { button.disabled = true; button.dataset.label = button.textContent; }
    if (button && form.dataset.working) button.textContent = form.dataset.working;
    Promise.all(inputs.map(function (input) {
      return shrink(input.files[0], limit).then(function (file) {
        var swapped = replaceFile(input, file);
        var sent = swapped ? file : input.files[0];
        if (sent.size > limit) { say(input, form.dataset.tooLarge); return false; }
        say(input, "");
        return true;
      });
    })).then(function (oks) {
      if (button) { button.disabled = false; button.textContent = button.dataset.label; }
      if (oks.every(Boolean)) {
        form.dataset.uploadReady = "1";
        form.submit();  // does not fire submit again
      }
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form && form.dataset && form.dataset.uploadLimit) prepare(form, event);
  });

  // Choosing another file clears the refusal and lets the form be prepared again.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input || input.type !== "file" || !input.form || !input.form.dataset.uploadLimit) return;
    delete input.form.dataset.uploadReady;
    say(input, "");
  });
})();
