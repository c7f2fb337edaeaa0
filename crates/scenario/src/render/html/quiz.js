"use strict";
(function () {
  var forms = document.querySelectorAll("form.quiz");
  var left = forms.length;
  function revealFinal() {
    document.querySelectorAll(".veiled.final").forEach(function (el) {
      el.classList.remove("veiled");
    });
  }
  forms.forEach(function (form) {
    var button = form.querySelector("button.reveal");
    form.addEventListener("change", function () {
      button.disabled = false;
    });
    button.addEventListener("click", function () {
      var step = form.getAttribute("data-step");
      var chosen = form.querySelector("input:checked");
      var truth = form.getAttribute("data-truth");
      var judgement = form.querySelector(".judgement");
      if (chosen && truth !== "any") {
        judgement.textContent = chosen.value === truth ? " ✓ as you predicted" : " ✗ not what you predicted";
      }
      document.querySelectorAll('.veiled[data-step="' + step + '"]').forEach(function (el) {
        el.classList.remove("veiled");
      });
      form.querySelectorAll("input,button").forEach(function (el) {
        el.disabled = true;
      });
      left -= 1;
      if (left === 0) {
        revealFinal();
      }
    });
  });
  if (left === 0) {
    revealFinal();
  }
})();
