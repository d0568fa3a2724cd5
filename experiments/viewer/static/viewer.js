// hypercon-bench viewer: every panel draws the SAME frame index from preloaded images (no <video> seeking).
// Playback advances one frame at a time, and only once every panel's next image is decoded, so panels never
// disagree. Each canvas carries data-frame (the index it shows) and data-mag (the magnifier centre).
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("viewer-data").textContent);
  const $ = (id) => document.getElementById(id);
  const pad = (t) => String(t).padStart(5, "0");
  const W = data.width, H = data.height, T = data.frames;
  const COLOURS = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"];
  const state = { frame: 0, playing: false, speed: 1, loop: true, flicker: false, magnifier: false,
                  mag: [0.5, 0.5], zoom: 3, focus: -1, wipeA: 0, wipeB: Math.min(1, data.panels.length - 1), wipe: 0.5 };
  let pending = 0, loaded = 0;

  function load(src) {
    const img = new Image();
    pending += 1;
    img.onload = img.onerror = () => { pending -= 1; loaded += 1; status(); if (ready(state.frame)) draw(); };
    img.src = src;
    return img;
  }
  const panels = data.panels.map((p) => {
    const el = document.querySelector('[data-panel="' + p.id + '"]');
    const canvas = el.querySelector("canvas");
    const frames = [];
    for (let t = 0; t < T; t += 1) frames.push(load(p.dir + "/" + pad(t) + ".jpg"));
    return { info: p, el: el, canvas: canvas, ctx: canvas.getContext("2d"), frames: frames, errors: null };
  });
  function loadErrors() {
    panels.forEach((p) => {
      if (p.info.errors && !p.errors) {
        p.errors = [];
        for (let t = 0; t < T; t += 1) p.errors.push(load(p.info.dir + "/err/" + pad(t) + ".jpg"));
      }
    });
  }
  function image(p, t) { return state.flicker && p.errors ? p.errors[t] : p.frames[t]; }
  function ok(img) { return img.complete && img.naturalWidth > 0; }
  function ready(t) { return panels.every((p) => ok(image(p, t))); }
  function status() {
    const text = pending > 0 ? "loading " + loaded + "/" + (loaded + pending) : T + " frames · " + data.fps + " fps";
    $("status").textContent = text;
    if (pending === 0) document.body.dataset.loaded = "1";
  }

  function lens(ctx) {  // the same region, zoomed, drawn over the frame at the magnifier centre
    const size = Math.round(Math.min(W, H) * 0.45), src = size / state.zoom;
    const cx = state.mag[0] * W, cy = state.mag[1] * H;
    const sx = Math.max(0, Math.min(W - src, cx - src / 2)), sy = Math.max(0, Math.min(H - src, cy - src / 2));
    const dx = Math.max(0, Math.min(W - size, cx - size / 2)), dy = Math.max(0, Math.min(H - size, cy - size / 2));
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(ctx.canvas, sx, sy, src, src, dx, dy, size, size);
    ctx.imageSmoothingEnabled = true;
    ctx.strokeStyle = "#fff"; ctx.lineWidth = 1; ctx.strokeRect(dx + 0.5, dy + 0.5, size - 1, size - 1);
  }
  function drawPanel(p, t) {
    p.ctx.drawImage(image(p, t), 0, 0, W, H);
    if (state.magnifier) lens(p.ctx);
    p.canvas.dataset.frame = String(t);
    p.canvas.dataset.view = state.flicker && p.errors ? "error" : "frames";
    p.canvas.dataset.mag = state.magnifier ? state.mag.map((v) => v.toFixed(3)).join(",") : "";
  }
  function drawWipe(t) {
    const canvas = $("wipe"), ctx = canvas.getContext("2d"), x = Math.round(state.wipe * W);
    const a = panels[state.wipeA], b = panels[state.wipeB];
    ctx.drawImage(image(b, t), 0, 0, W, H);
    if (x > 0) ctx.drawImage(image(a, t), 0, 0, x * image(a, t).naturalWidth / W, image(a, t).naturalHeight, 0, 0, x, H);
    if (state.magnifier) lens(ctx);
    ctx.fillStyle = "#fff"; ctx.fillRect(x - 1, 0, 2, H);
    Object.assign(canvas.dataset, { frame: String(t), wipe: state.wipe.toFixed(3), a: a.info.id, b: b.info.id,
      mag: state.magnifier ? state.mag.map((v) => v.toFixed(3)).join(",") : "" });
  }

  const curve = $("curve"), series = panels.filter((p) => p.info.curve);
  const top = Math.max(1e-12, ...series.flatMap((p) => p.info.curve.filter((v) => v !== null)));
  const cx0 = 60, cx1 = curve.width - 10, cy0 = 10, cy1 = curve.height - 22;
  const xOf = (t) => cx0 + (cx1 - cx0) * (T > 1 ? t / (T - 1) : 0), yOf = (v) => cy1 - (cy1 - cy0) * v / top;
  function drawCurve(t) {
    const ctx = curve.getContext("2d");
    ctx.clearRect(0, 0, curve.width, curve.height);
    ctx.fillStyle = "#888"; ctx.font = "11px sans-serif";
    ctx.fillText(top.toPrecision(3), 2, cy0 + 8); ctx.fillText("0", 2, cy1); ctx.fillText("frame " + t, cx0, curve.height - 6);
    ctx.strokeStyle = "#444"; ctx.strokeRect(cx0, cy0, cx1 - cx0, cy1 - cy0);
    let legend = cx0 + 8;
    series.forEach((p, k) => {
      ctx.strokeStyle = COLOURS[k % COLOURS.length]; ctx.lineWidth = 1.5; ctx.beginPath();
      let on = false;
      p.info.curve.forEach((v, i) => {
        if (v === null) { on = false; return; }
        if (on) ctx.lineTo(xOf(i), yOf(v)); else ctx.moveTo(xOf(i), yOf(v));
        on = true;
      });
      ctx.stroke();
      ctx.fillStyle = COLOURS[k % COLOURS.length]; ctx.fillText(p.info.label, legend, cy0 + 12);
      legend += ctx.measureText(p.info.label).width + 16;
    });
    if (!series.length) { ctx.fillStyle = "#888"; ctx.fillText("no per-frame E_warp recorded", cx0 + 8, cy0 + 30); }
    ctx.strokeStyle = "#fff"; ctx.beginPath(); ctx.moveTo(xOf(t), cy0); ctx.lineTo(xOf(t), cy1); ctx.stroke();
    curve.dataset.frame = String(t);
  }

  function draw() {
    const t = state.frame;
    if (!ready(t)) return;  // drawn by the image's onload once every panel has it
    panels.forEach((p) => drawPanel(p, t));
    drawWipe(t);
    drawCurve(t);
    $("scrub").value = String(t);
    $("frame-label").textContent = "frame " + t + " / " + (T - 1);
    document.body.dataset.frame = String(t);
  }
  function show(t) { state.frame = Math.max(0, Math.min(T - 1, t)); draw(); }
  function step(d) { pause(); show((state.frame + d + T) % T); }
  function play() { state.playing = true; $("play").textContent = "pause"; last = null; requestAnimationFrame(tick); }
  function pause() { state.playing = false; $("play").textContent = "play"; }

  let last = null, acc = 0;
  function tick(now) {
    if (!state.playing) return;
    if (last !== null) acc += now - last;
    last = now;
    const period = 1000 / (data.fps * state.speed);
    if (acc >= period) {
      let next = state.frame + 1;
      if (next >= T) { if (!state.loop) { pause(); return; } next = 0; }
      if (ready(next)) { acc = Math.min(acc - period, period); show(next); }  // wait for a late image, never skip
    }
    requestAnimationFrame(tick);
  }

  function focus(k) {
    state.focus = state.focus === k || k < 0 || k >= panels.length ? -1 : k;
    panels.forEach((p, i) => p.el.classList.toggle("focused", i === state.focus));
    $("grid").classList.toggle("has-focus", state.focus >= 0);
  }
  function setFlicker(on) {
    state.flicker = on && data.has_maps; $("flicker").checked = state.flicker;
    if (state.flicker) loadErrors();
    draw();
  }
  function setMagnifier(on) { state.magnifier = on; $("magnifier").checked = on; draw(); }
  function pointAt(canvas, ev) {
    const r = canvas.getBoundingClientRect();
    state.mag = [Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width)), Math.max(0, Math.min(1, (ev.clientY - r.top) / r.height))];
    draw();
  }

  $("play").addEventListener("click", () => (state.playing ? pause() : play()));
  $("prev").addEventListener("click", () => step(-1));
  $("next").addEventListener("click", () => step(1));
  $("scrub").addEventListener("input", (e) => { pause(); show(Number(e.target.value)); });
  $("speed").addEventListener("change", (e) => { state.speed = Number(e.target.value); });
  $("loop").addEventListener("change", (e) => { state.loop = e.target.checked; });
  $("flicker").addEventListener("change", (e) => setFlicker(e.target.checked));
  $("magnifier").addEventListener("change", (e) => setMagnifier(e.target.checked));
  $("wipe-a").addEventListener("change", (e) => { state.wipeA = Number(e.target.value); draw(); });
  $("wipe-b").addEventListener("change", (e) => { state.wipeB = Number(e.target.value); draw(); });
  $("wipe-pos").addEventListener("input", (e) => { state.wipe = Number(e.target.value) / 1000; draw(); });
  $("wipe-b").value = String(state.wipeB);
  [...panels.map((p) => p.canvas), $("wipe")].forEach((canvas) => {
    canvas.addEventListener("mousemove", (ev) => { if (state.magnifier) pointAt(canvas, ev); });
    canvas.addEventListener("click", (ev) => { if (!state.magnifier) setMagnifier(true); pointAt(canvas, ev); });
  });
  document.addEventListener("keydown", (ev) => {
    if (ev.target.tagName === "SELECT" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const keys = { " ": () => (state.playing ? pause() : play()), ArrowLeft: () => step(-1), ArrowRight: () => step(1),
      Escape: () => focus(-1), "0": () => focus(-1), m: () => setMagnifier(!state.magnifier), f: () => setFlicker(!state.flicker) };
    if (/^[1-9]$/.test(ev.key)) keys[ev.key] = () => focus(Number(ev.key) - 1);
    if (keys[ev.key]) { ev.preventDefault(); keys[ev.key](); }
  });
  window.hyperconViewer = { state: state, show: show, ready: ready };
  status();
  draw();
})();
