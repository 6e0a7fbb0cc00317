// The batch report's A/B players: one <audio class="ab-player"> per file whose source flips
// between data-a (input) and data-b (output) at the same position, playing on if it played.
// The key "x" flips the player of the file last played or focused (the first file if none).
// Plain JavaScript, no libraries: the page works offline from file://.
(function () {
  "use strict";
  var LABELS = { a: "A: input", b: "B: output" };
  var last = null;

  function flip(section) {
    var player = section && section.querySelector("audio.ab-player");
    if (!player) { return; }
    var button = section.querySelector("button.ab-switch");
    var next = player.dataset.current === "b" ? "a" : "b";
    var position = player.currentTime;
    var playing = !player.paused && !player.ended;
    player.src = player.dataset[next];
    player.dataset.current = next;
    // before the new file's metadata, currentTime is where playback will start
    player.currentTime = position;
    player.addEventListener("loadedmetadata", function () {
      if (Math.abs(player.currentTime - position) > 0.01) { player.currentTime = position; }
      if (playing) { player.play().catch(function () {}); }
    }, { once: true });
    if (button) {
      button.textContent = LABELS[next];
      button.setAttribute("aria-pressed", next === "b" ? "true" : "false");
    }
    last = section;
  }

  function sectionOf(node) {
    return node && node.closest ? node.closest("section.file") : null;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button.ab-switch");
    if (button) { flip(sectionOf(button)); }
  });
  // play does not bubble: listen while it goes down
  document.addEventListener("play", function (event) {
    var section = sectionOf(event.target);
    if (section) { last = section; }
  }, true);
  document.addEventListener("focusin", function (event) {
    var section = sectionOf(event.target);
    if (section && section.querySelector("audio.ab-player")) { last = section; }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "x" && event.key !== "X") { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var tag = event.target && event.target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || (event.target && event.target.isContentEditable)) {
      return;
    }
    var section = last;
    if (!section) {
      var first = document.querySelector("audio.ab-player");
      section = sectionOf(first);
    }
    if (section) {
      event.preventDefault();
      flip(section);
    }
  });
})();
