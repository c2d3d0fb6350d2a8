// vwwdeploy demo page: listens to /events (Server-Sent Events) and draws what the board streams.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const SCALE = 4;         // each model-input pixel becomes SCALE x SCALE screen pixels, no smoothing
  const HISTORY = 60;      // timeline length (the server keeps the same number for late pages)
  const THRESHOLD = 0.5;

  let hello = null;
  let history = [];        // {index, focus_score, label_index}
  // Scripts (the screenshot in the tests, a console user) may set vwwDemo.hold = true to keep the
  // current frame on screen; status and HELLO still update.
  const demo = window.vwwDemo = {hold: false, frames: 0};

  // ----------------------------------------------------------------- drawing

  function bytesOf(b64) {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }

  // Puts w x h pixels (1 or 3 channels, uint8) on `canvas`, each as a scale x scale block.
  function drawPixels(canvas, bytes, w, h, channels, scale) {
    const off = document.createElement("canvas");
    off.width = w;
    off.height = h;
    const octx = off.getContext("2d");
    const img = octx.createImageData(w, h);
    const d = img.data;
    for (let i = 0, n = w * h; i < n; i++) {
      const o = 4 * i;
      if (channels === 1) {
        d[o] = d[o + 1] = d[o + 2] = bytes[i];
      } else {
        d[o] = bytes[3 * i]; d[o + 1] = bytes[3 * i + 1]; d[o + 2] = bytes[3 * i + 2];
      }
      d[o + 3] = 255;
    }
    octx.putImageData(img, 0, 0);
    if (canvas.width !== w * scale || canvas.height !== h * scale) {
      canvas.width = w * scale;
      canvas.height = h * scale;
    }
    const ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = false;   // crisp blocks, not a blur
    ctx.drawImage(off, 0, 0, w * scale, h * scale);
    return ctx;
  }

  function drawTimeline() {
    const c = $("timeline");
    const ctx = c.getContext("2d");
    const W = c.width, H = c.height, pad = 4;
    ctx.clearRect(0, 0, W, H);
    const slot = (W - 2 * pad) / HISTORY;
    history.slice(-HISTORY).forEach((r, i) => {
      const v = Math.max(0, Math.min(1, r.focus_score ?? 0));
      const bh = Math.max(1, Math.round(v * (H - 2 * pad)));
      ctx.fillStyle = v >= THRESHOLD ? "#2fbf71" : "#5b6b84";
      ctx.fillRect(Math.round(pad + i * slot + 1), H - pad - bh, Math.max(1, Math.floor(slot - 2)), bh);
    });
    ctx.strokeStyle = "rgba(255,255,255,0.35)";
    ctx.setLineDash([4, 4]);
    ctx.beginPath();
    const y = Math.round(H - pad - THRESHOLD * (H - 2 * pad)) + 0.5;
    ctx.moveTo(pad, y);
    ctx.lineTo(W - pad, y);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  // ----------------------------------------------------------------- events

  function showHello(h) {
    hello = h;
    $("board").textContent = h.board;
    $("firmware").textContent = `${h.firmware_name} ${h.firmware_version} (protocol ${h.protocol_version})`;
    $("kernels").textContent = h.kernels;
    $("clock").textContent = h.clock_hz ? `${(h.clock_hz / 1e6).toFixed(1)} MHz` : "n/a";
    $("pipeline").textContent = h.pipeline;
    $("arena").textContent = `${(h.arena_used / 1024).toFixed(1)} KiB used of ${(h.arena_size / 1024).toFixed(1)} KiB`;
    $("port").textContent = h.port;
    $("sha256").textContent = h.model_sha256;
    $("focus-label").textContent = h.focus_label ?? "top class";
  }

  function showStatus(s) {
    const el = $("status");
    el.dataset.state = s.state;
    document.body.dataset.state = s.state;
    const text = {connected: "connected", connecting: "connecting…", disconnected: "disconnected"}[s.state] || s.state;
    $("status-text").textContent = s.reason ? `${text}: ${s.reason}` : text;
    if (s.connects !== undefined) {   // counts come from the server; "offline" (no server) has none
      const link = $("link");
      for (const k of ["connects", "resets", "drops"]) link.dataset[k] = String(s[k]);
      link.textContent = `${s.connects} connect(s) · ${s.resets} board reset(s) · ${s.drops} link drop(s)`;
    }
    const overlay = $("overlay");
    overlay.hidden = s.state === "connected";
    if (s.state !== "connected") {
      $("overlay-title").textContent = s.state === "disconnected" ? "disconnected · reconnecting…" : text;
      $("overlay-reason").textContent = s.reason || "";
    }
  }

  function showFrame(f) {
    demo.frames++;
    if (demo.hold) return;
    drawPixels($("frame"), bytesOf(f.pixels), f.width, f.height, f.channels, SCALE);
    $("frame").dataset.index = String(f.index);
    $("frame-size").textContent = `${f.width}×${f.height}`;
    $("frame-index").textContent = String(f.index);
    if (f.raw) {
      $("raw-wrap").hidden = false;
      const ctx = drawPixels($("raw"), bytesOf(f.raw), f.raw_width, f.raw_height, 1, 1);
      if (f.crop) {   // the window the board resampled the frame from (protocol.md section 5)
        const [x0, y0, cw, ch] = f.crop;
        ctx.strokeStyle = "#2fbf71";
        ctx.strokeRect(x0 - 0.5, y0 - 0.5, cw + 1, ch + 1);
      }
    }
    if (f.scores) {
      const label = $("label");
      label.textContent = f.label;
      label.dataset.label = f.label;
      label.classList.toggle("hit", hello !== null && f.label_index === hello.focus_index);
      $("score").textContent = f.focus_score.toFixed(3);
      $("scores").textContent = `[${f.scores.join(", ")}]`;
      $("bar-fill").style.width = `${(100 * Math.max(0, Math.min(1, f.focus_score))).toFixed(1)}%`;
      $("bar-fill").classList.toggle("hit", f.focus_score >= THRESHOLD);
      $("latency").textContent = `${(f.latency_us / 1000).toFixed(1)} ms`;
      $("instructions").textContent = f.instructions ? f.instructions.toLocaleString("en") : "n/a";
      history.push({index: f.index, focus_score: f.focus_score, label_index: f.label_index});
      if (history.length > HISTORY) history = history.slice(-HISTORY);
      drawTimeline();
    }
    $("fps").textContent = f.fps == null ? "–" : f.fps.toFixed(1);
  }

  function connect() {
    const source = new EventSource("events");
    const on = (kind, fn) => source.addEventListener(kind, (e) => fn(JSON.parse(e.data)));
    on("hello", showHello);
    on("status", showStatus);
    on("history", (h) => { history = h.slice(-HISTORY); drawTimeline(); });
    on("frame", showFrame);
    source.onerror = () => {   // the demo itself went away; EventSource retries by itself
      showStatus({state: "offline", reason: "the demo server does not answer"});
    };
  }

  drawTimeline();
  connect();
})();
