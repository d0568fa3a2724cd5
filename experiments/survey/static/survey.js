// hypercon-bench survey page: every clip draws the same frame index (preloaded images, no <video>), the
// worker answers, and the answer is posted once (server pages) or submitted to MTurk (mode "mturk").
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("survey-data").textContent);
  const $ = (id) => document.getElementById(id);
  const pad = (t) => String(t).padStart(5, "0");
  const opened = performance.now();
  const clips = [...document.querySelectorAll("canvas.clip")].map((canvas) => {
    const frames = [];
    for (let t = 0; t < Number(canvas.dataset.frames); t += 1) {
      const img = new Image();
      img.onload = () => { if (t === 0) { canvas.width = img.naturalWidth; canvas.height = img.naturalHeight; } draw(); };
      img.src = data.media + canvas.dataset.clip + "/" + pad(t) + ".jpg";
      frames.push(img);
    }
    return { canvas: canvas, ctx: canvas.getContext("2d"), frames: frames };
  });
  const T = Math.min(...clips.map((c) => c.frames.length));
  let frame = 0, playing = false, last = null;
  const ok = (img) => img.complete && img.naturalWidth > 0;
  const ready = (t) => clips.every((c) => ok(c.frames[t]));
  function draw() {
    if (!ready(frame)) return;
    clips.forEach((c) => { c.ctx.drawImage(c.frames[frame], 0, 0, c.canvas.width, c.canvas.height); c.canvas.dataset.frame = String(frame); });
    document.body.dataset.loaded = "1";
  }
  function tick(now) {
    if (!playing) return;
    if (last === null || now - last >= 1000 / data.fps) {
      const next = (frame + 1) % T;
      if (ready(next)) { frame = next; last = now; draw(); }
    }
    requestAnimationFrame(tick);
  }
  $("play").addEventListener("click", () => { playing = !playing; last = null; if (playing) requestAnimationFrame(tick); });

  function say(text, status) { const m = $("message"); m.textContent = text; m.dataset.status = String(status); }
  function checked(name) { const el = document.querySelector('input[name="' + name + '"]:checked'); return el ? el.value : null; }
  async function post(url, body) {
    const res = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    let reply = {};
    try { reply = await res.json(); } catch (e) { reply = { error: res.statusText }; }
    return { status: res.status, reply: reply };
  }
  if (data.mode === "mturk") {
    const assignment = new URLSearchParams(window.location.search).get("assignmentId") || "";
    $("assignmentId").value = assignment;
    if (assignment === "ASSIGNMENT_ID_NOT_AVAILABLE") $("submit").disabled = true;  // preview
    $("mturk").addEventListener("submit", (ev) => {
      if (!checked("answer")) { ev.preventDefault(); say("Choose a video first.", 0); return; }
      $("time_on_page_ms").value = String(Math.round(performance.now() - opened));
    });
    return;
  }
  $("submit").addEventListener("click", async () => {
    let url, body;
    if (data.mode === "qualification") {
      const answers = [];
      for (let k = 0; k < data.count; k += 1) answers.push(checked("q" + k));
      if (answers.includes(null)) { say("Answer every question first.", 0); return; }
      url = "/qualify"; body = { worker: data.worker, token: data.token, answers: answers.map(Number) };
    } else {
      const answer = checked("answer");
      if (!answer) { say("Choose a video first.", 0); return; }
      url = "/answer";
      body = { worker: data.worker, token: data.token, task: data.task, answer: answer,
               difficult: $("difficult").checked, time_on_page_ms: Math.round(performance.now() - opened) };
    }
    $("submit").disabled = true;
    const { status, reply } = await post(url, body);
    say(reply.message || reply.error || String(status), status);
    if (status === 200 && reply.next) window.location.href = reply.next;
    else if (status !== 200) $("submit").disabled = false;
  });
  draw();
})();
