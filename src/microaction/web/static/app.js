// microaction web page: upload a video, follow its job, show the top-5 or the timeline.
"use strict";

const $ = (id) => document.getElementById(id);
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
  "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
  "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363"];
let info = null;
let polling = null;

function clock(t) {
  const m = Math.floor(t / 60), s = (t - 60 * m).toFixed(1).padStart(4, "0");
  return `${m}:${s}`;
}

function showError(text) {
  const e = $("error");
  e.textContent = text;
  e.hidden = !text;
}

function setStatus(text, fraction) {
  $("status").hidden = !text;
  $("status-text").textContent = text || "";
  $("status-bar").style.width = `${Math.round(100 * (fraction || 0))}%`;
}

async function loadInfo() {
  const r = await fetch("/api/info");
  info = await r.json();
  $("model").textContent = `${info.model} (${info.views} views) - ${info.training}`;
  $("limits").textContent = `Up to ${Math.round(info.max_upload_mb)} MB. Clips up to ` +
    `${info.clip_seconds} s get the top-5 actions; longer videos get a timeline ` +
    `(${info.window} s windows every ${info.stride} s).`;
}

async function upload(file) {
  showError("");
  $("result").hidden = true;
  const video = $("video");
  if (video.dataset.url) URL.revokeObjectURL(video.dataset.url);
  video.dataset.url = URL.createObjectURL(file);  // the browser plays the file itself
  video.src = video.dataset.url;
  setStatus(`uploading ${file.name}...`, 0);
  let r;
  try {
    r = await fetch("/api/jobs", {method: "POST", body: file,
      headers: {"Content-Type": "application/octet-stream",
                "X-Filename": encodeURIComponent(file.name)}});
  } catch (err) {
    setStatus("");
    return showError(`upload failed: ${err}`);
  }
  const job = await r.json();
  if (!r.ok) {
    setStatus("");
    return showError(job.error || `upload refused (${r.status})`);
  }
  follow(job.id);
}

function follow(id) {
  if (polling) clearTimeout(polling);
  const tick = async () => {
    const r = await fetch(`/api/jobs/${id}`);
    const job = await r.json();
    if (job.status === "queued") setStatus(`${job.name}: waiting for the previous video...`, 0);
    if (job.status === "running") setStatus(`${job.name}: processing...`, job.progress);
    if (job.status === "error") { setStatus(""); return showError(job.message); }
    if (job.status === "done") { setStatus(""); return show(job); }
    polling = setTimeout(tick, 400);
  };
  tick();
}

function show(job) {
  const res = job.result;
  $("result").hidden = false;
  $("clip").hidden = res.mode !== "clip";
  $("timeline").hidden = res.mode !== "timeline";
  document.body.dataset.mode = res.mode;
  if (res.mode === "clip") showClip(res); else showTimeline(job.id, res);
}

function showClip(res) {
  const list = $("top5");
  list.replaceChildren();
  for (const t of res.top) {
    const li = document.createElement("li");
    li.className = "action";
    li.dataset.id = t.action_id;
    li.dataset.prob = t.prob;
    const bar = document.createElement("span");
    bar.className = "prob";
    bar.style.width = `${Math.max(2, Math.round(160 * t.prob))}px`;
    const text = document.createElement("span");
    text.textContent = `${(100 * t.prob).toFixed(1)}%  ${t.action_id} ${t.action}`;
    li.append(bar, text);
    if (t.body) {
      const body = document.createElement("span");
      body.className = "body";
      body.textContent = `  [${t.body}]`;
      li.append(body);
    }
    list.append(li);
  }
  const frames = $("frames");
  frames.replaceChildren(...res.frames.map((src, i) => {
    const img = document.createElement("img");
    img.src = src;
    img.alt = `frame ${i + 1} the model saw`;
    return img;
  }));
}

function showTimeline(id, res) {
  $("tl-summary").textContent = `${res.segments.length} segments in ${clock(res.duration)}`;
  $("dl-csv").href = `/api/jobs/${id}/detections.csv`;
  $("dl-json").href = `/api/jobs/${id}/timeline.json`;
  const lanes = (res.body_parts || []).filter((b) => b !== "no action");
  const laneOf = (s) => lanes.length ? lanes.indexOf(s.body) : 0;
  const names = lanes.length ? lanes : ["actions"];
  const W = $("lanes").clientWidth || 1000, left = 110, right = 12, laneH = 34, top = 6;
  const H = top + laneH * names.length + 26;
  const x = (t) => left + (W - left - right) * t / res.duration;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("height", H);
  names.forEach((name, i) => {
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", 8);
    label.setAttribute("y", top + laneH * i + laneH / 2 + 4);
    label.setAttribute("font-size", 13);
    label.setAttribute("class", "lane-label");
    label.textContent = name;
    const line = document.createElementNS(ns, "line");
    line.setAttribute("x1", left); line.setAttribute("x2", W - right);
    line.setAttribute("y1", top + laneH * (i + 1)); line.setAttribute("y2", top + laneH * (i + 1));
    line.setAttribute("stroke", "#e3e7ee");
    svg.append(label, line);
  });
  const step = res.duration > 600 ? 60 : res.duration > 120 ? 15 : res.duration > 30 ? 5 : 1;
  for (let t = 0; t <= res.duration; t += step) {
    const tick = document.createElementNS(ns, "text");
    tick.setAttribute("x", x(t)); tick.setAttribute("y", H - 6);
    tick.setAttribute("font-size", 12); tick.setAttribute("text-anchor", "middle");
    tick.setAttribute("fill", "#5d6677");
    tick.textContent = clock(t).replace(/\.\d$/, "");
    svg.append(tick);
  }
  const video = $("video");
  const tip = $("tooltip");
  const describe = (s) => `${s.class} ${s.name}${s.body ? ` (${s.body})` : ""}: ` +
    `${clock(s.start)} - ${clock(s.end)}, score ${s.score.toFixed(2)}`;
  // segments that overlap in a lane are stacked in sub-rows, so each stays visible
  const rowsOf = {}, rowOf = new Map();
  for (const s of [...res.segments].sort((a, b) => a.start - b.start)) {
    const ends = rowsOf[laneOf(s)] = rowsOf[laneOf(s)] || [];
    let row = ends.findIndex((end) => end <= s.start);
    if (row < 0) { ends.push(0); row = ends.length - 1; }
    ends[row] = s.end;
    rowOf.set(s, row);
  }
  for (const s of res.segments) {
    const lane = laneOf(s);
    if (lane < 0) continue;
    const depth = rowsOf[lane].length, h = (laneH - 8) / depth;
    const rect = document.createElementNS(ns, "rect");
    rect.setAttribute("class", "seg");
    rect.setAttribute("x", x(s.start));
    rect.setAttribute("width", Math.max(2, x(s.end) - x(s.start)));
    rect.setAttribute("y", top + laneH * lane + 4 + h * rowOf.get(s));
    rect.setAttribute("height", Math.max(2, h - 1));
    rect.setAttribute("rx", 3);
    rect.setAttribute("fill", PALETTE[s.class % PALETTE.length]);
    rect.setAttribute("fill-opacity", 0.35 + 0.65 * Math.min(1, s.score));
    rect.dataset.start = s.start;
    rect.addEventListener("mousemove", (ev) => {
      tip.hidden = false;
      tip.textContent = describe(s);
      tip.style.left = `${ev.clientX + 12}px`;
      tip.style.top = `${ev.clientY + 12}px`;
    });
    rect.addEventListener("mouseleave", () => { tip.hidden = true; });
    rect.addEventListener("click", () => { video.currentTime = s.start; });
    svg.append(rect);
  }
  $("lanes").replaceChildren(svg);
  const body = $("detections").querySelector("tbody");
  body.replaceChildren(...res.segments.map((s) => {
    const tr = document.createElement("tr");
    for (const v of [clock(s.start), clock(s.end), `${s.class} ${s.name}`, s.body || "",
                     s.score.toFixed(2)]) {
      const td = document.createElement("td");
      td.textContent = v;
      tr.append(td);
    }
    tr.addEventListener("click", () => { video.currentTime = s.start; });
    return tr;
  }));
}

function wire() {
  const drop = $("drop");
  $("file").addEventListener("change", (ev) => {
    if (ev.target.files.length) upload(ev.target.files[0]);
  });
  drop.addEventListener("dragover", (ev) => { ev.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    drop.classList.remove("over");
    if (ev.dataTransfer.files.length) upload(ev.dataTransfer.files[0]);
  });
  loadInfo().catch((err) => showError(`cannot reach the server: ${err}`));
}

wire();
