// The authoring page: a requirement in, the workflow drawn live from POST v1/workflows:stream.
// API paths are relative to the page, so that it works behind a proxy that serves the API under a prefix.
// Everything the server sends is shown as text (textContent), never parsed as HTML.
"use strict";

const $ = (selector) => document.querySelector(selector);
const PIN = /(^|[^\w#@])([#@])(\w+)/g; // #table or @step, not inside a word
const PILL = /\{\{([^{}]+)\}\}/g; // {{step_1.records}}, {{record_update.current.manager}}

const page = {
  catalog: null, // the tenant's catalog: tables, triggers, actions
  controller: null, // aborts the stream in flight (Stop)
  answer: null, // the last workflow (or refusal), for copy and download
  options: [], // autocompletion entries on show
  active: 0,
  token: null, // the token the tenants were last loaded with
  runs: 0, // generations started: a catalog answer that arrives after one does not overwrite its state
  history: [], // the workflows before each applied follow-up, for Undo
};

// ---- API ------------------------------------------------------------------------------------
function headers(json) {
  const out = json ? { "Content-Type": "application/json" } : {};
  const token = $("#token").value.trim();
  if (token) out.Authorization = `Bearer ${token}`;
  return out;
}

class ServerError extends Error {}

async function failure(response) {
  const body = await response.json().catch(() => ({}));
  return new ServerError(body.message || `${response.status} ${response.statusText}`);
}

async function getJSON(path) {
  const response = await fetch(path, { headers: headers(false) });
  if (!response.ok) throw await failure(response);
  return response.json();
}

// Server-sent events of a fetch() body: yields [event, data] pairs.
async function* events(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) kind = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length) yield [kind, JSON.parse(data.join("\n"))];
    }
  }
}

// ---- tenants and catalog --------------------------------------------------------------------
async function loadTenants() {
  const select = $("#tenant");
  const previous = select.value || "core";
  const run = page.runs;
  try {
    const tenants = await getJSON("v1/tenants");
    select.replaceChildren(...tenants.map((t) => new Option(t, t, false, t === previous)));
    await loadCatalog();
  } catch (error) {
    select.replaceChildren();
    page.catalog = null;
    if (run === page.runs) setPhase("error", `Tenants: ${error.message}`);
  }
}

async function loadCatalog() {
  page.catalog = null;
  const run = page.runs;
  try {
    page.catalog = await getJSON(`v1/tenants/${encodeURIComponent($("#tenant").value)}/catalog`);
    if (run === page.runs) setPhase("idle", "Ready.");
  } catch (error) {
    if (run === page.runs) setPhase("error", `Catalog: ${error.message}`);
  }
  showPins();
}

function entries(sigil) {
  const catalog = page.catalog;
  if (!catalog) return [];
  if (sigil === "#") return Object.values(catalog.tables).map((t) => ({ name: t.name, label: t.label, kind: "table" }));
  return [
    ...Object.values(catalog.triggers).map((t) => ({ name: t.id, label: t.label, kind: "trigger" })),
    ...Object.values(catalog.actions).map((a) => ({ name: a.id, label: a.label, kind: "step" })),
  ];
}

function known(sigil, name) {
  const catalog = page.catalog;
  if (!catalog) return false;
  return sigil === "#" ? name in catalog.tables : name in catalog.actions || name in catalog.triggers;
}

// The pinned names of a requirement, and the requirement as sent (a known name loses its sigil).
function prepare(text) {
  const tables = new Set();
  const steps = new Set();
  const requirement = text.replace(PIN, (all, before, sigil, name) => {
    if (!known(sigil, name)) return all;
    (sigil === "#" ? tables : steps).add(name);
    return before + name;
  });
  return { requirement, tables: [...tables], steps: [...steps] };
}

function showPins() {
  const { tables, steps } = prepare($("#requirement").value);
  const chips = [
    ...tables.map((name) => ["#", name, page.catalog.tables[name].label]),
    ...steps.map((name) => ["@", name, (page.catalog.actions[name] || page.catalog.triggers[name]).label]),
  ].map(([sigil, name, label]) => {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.title = label;
    chip.textContent = sigil + name;
    return chip;
  });
  $("#pins").replaceChildren(...(chips.length ? [text("span", "Pinned:", "muted"), ...chips] : []));
}

// ---- autocompletion of #table and @step ----------------------------------------------------
function typed() {
  const box = $("#requirement");
  const before = box.value.slice(0, box.selectionStart);
  const match = /(?:^|[^\w#@])([#@])(\w*)$/.exec(before);
  return match && { sigil: match[1], prefix: match[2], start: box.selectionStart - match[2].length - 1 };
}

function complete() {
  const word = typed();
  const list = $("#complete");
  const query = word ? word.prefix.toLowerCase() : "";
  page.options = !word ? [] : entries(word.sigil)
    .filter((e) => e.name.includes(query) || e.label.toLowerCase().includes(query))
    .sort((a, b) => b.name.startsWith(query) - a.name.startsWith(query) || a.name.localeCompare(b.name))
    .slice(0, 8);
  page.active = 0;
  list.hidden = !page.options.length;
  list.replaceChildren(...page.options.map((option, i) => {
    const item = document.createElement("li");
    item.setAttribute("role", "option");
    item.id = `option-${i}`;
    item.append(text("code", word.sigil + option.name), text("span", option.label, "muted"),
      text("span", option.kind, "kind"));
    item.addEventListener("mousedown", (event) => {
      event.preventDefault(); // keep the focus in the textarea
      choose(i);
    });
    return item;
  }));
  markActive();
}

function markActive() {
  const items = $("#complete").children;
  [...items].forEach((item, i) => item.setAttribute("aria-selected", String(i === page.active)));
  $("#requirement").setAttribute("aria-activedescendant", items.length ? `option-${page.active}` : "");
}

function choose(i) {
  const word = typed();
  const option = page.options[i];
  if (!word || !option) return;
  const box = $("#requirement");
  const after = box.value.slice(box.selectionStart);
  const inserted = `${word.sigil}${option.name}${after.startsWith(" ") ? "" : " "}`;
  box.value = box.value.slice(0, word.start) + inserted + after;
  box.selectionStart = box.selectionEnd = word.start + inserted.length;
  $("#complete").hidden = true;
  page.options = [];
  showPins();
}

function onKey(event) {
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    if (!page.controller) generate();
    return;
  }
  if ($("#complete").hidden) return;
  const moves = { ArrowDown: 1, ArrowUp: -1 };
  if (event.key in moves) {
    event.preventDefault();
    page.active = (page.active + moves[event.key] + page.options.length) % page.options.length;
    markActive();
  } else if (event.key === "Enter" || event.key === "Tab") {
    event.preventDefault();
    choose(page.active);
  } else if (event.key === "Escape") {
    $("#complete").hidden = true;
  }
}

// ---- drawing --------------------------------------------------------------------------------
function text(tag, content, className) {
  const node = document.createElement(tag);
  node.textContent = content;
  if (className) node.className = className;
  return node;
}

function setPhase(phase, message) {
  const status = $("#status");
  status.dataset.state = phase;
  status.textContent = message;
  const running = phase === "waiting" || phase === "streaming";
  $("#generate").disabled = running;
  $("#stop").disabled = !running;
  $("#apply").disabled = running;
}

function label(name, trigger) {
  const spec = trigger ? page.catalog?.triggers[name] : page.catalog?.actions[name];
  return spec ? spec.label : name.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());
}

// Step number of a data pill's source: step_N, or the trigger (named by its type); null otherwise.
function source(pill, triggerType) {
  const head = pill.trim().split(".")[0];
  const step = /^step_(\d+)$/.exec(head);
  if (step) return Number(step[1]);
  return head === triggerType ? 0 : null;
}

function value(raw, triggerType) {
  const out = document.createElement("span");
  out.className = "value";
  let last = 0;
  for (const match of raw.matchAll(PILL)) {
    out.append(raw.slice(last, match.index));
    const target = source(match[1], triggerType);
    const pill = text(target === null ? "span" : "a", match[1].trim(), "pill");
    if (target !== null) {
      pill.href = `#step-${target}`;
      pill.dataset.step = target;
      pill.addEventListener("mouseenter", () => link([target], true));
      pill.addEventListener("mouseleave", () => link([target], false));
      pill.addEventListener("click", (event) => {
        event.preventDefault();
        document.getElementById(`step-${target}`)?.scrollIntoView({ block: "center", behavior: "smooth" });
        flash(target);
      });
    }
    out.append(pill);
    last = match.index + match[0].length;
  }
  out.append(raw.slice(last));
  return out;
}

function flash(step) {
  const card = document.getElementById(`step-${step}`);
  card?.classList.remove("flash");
  void card?.offsetWidth; // restart the animation
  card?.classList.add("flash");
}

const MARKS = { waiting: "waiting", working: "working…", done: "done", failed: "failed" };

function card(number, name, annotation, isTrigger) {
  const node = document.createElement("article");
  node.className = "card";
  node.id = `step-${number}`;
  node.dataset.step = number;
  node.dataset.name = name;
  const head = document.createElement("header");
  head.append(text("span", isTrigger ? "trigger" : String(number), "number"), text("strong", label(name, isTrigger)),
    text("code", name), text("span", "", "mark"));
  const inputs = document.createElement("dl");
  inputs.className = "inputs";
  node.append(head, text("q", annotation, "annotation"), inputs);
  node.addEventListener("mouseenter", () => link([number], true));
  node.addEventListener("mouseleave", () => link([number], false));
  const spec = isTrigger ? page.catalog?.triggers[name] : page.catalog?.actions[name];
  mark(number, spec && !spec.inputs.length ? "done" : "working", node);
  return node;
}

function mark(number, state, node = document.getElementById(`step-${number}`)) {
  if (!node) return;
  node.dataset.mark = state;
  node.querySelector(".mark").textContent = MARKS[state];
}

function fill(number, inputs) {
  const node = document.getElementById(`step-${number}`);
  if (!node) return;
  const triggerType = document.getElementById("step-0")?.dataset.name;
  node.querySelector(".inputs").replaceChildren(...inputs.flatMap(({ name, value: raw }) => {
    const shown = document.createElement("dd");
    shown.append(value(raw, triggerType));
    return [text("dt", name), shown];
  }));
}

// The tree: the trigger, then the steps nested under their flow-logic parents.
function drawOutline(trigger, components) {
  const tree = $("#tree");
  tree.replaceChildren();
  if (trigger) {
    const item = document.createElement("li");
    item.append(card(0, trigger.type, trigger.annotation, true));
    tree.append(item);
  }
  const lists = new Map([[undefined, tree]]);
  for (const step of components) {
    const item = document.createElement("li");
    item.append(card(step.step, step.name, step.annotation, false));
    const parent = lists.get(step.parent) || tree;
    parent.append(item);
    const children = document.createElement("ol");
    item.append(children);
    lists.set(step.step, children);
  }
  for (const list of lists.values()) if (list !== tree && !list.children.length) list.remove();
  highlight([...(trigger ? [{ step: 0, annotation: trigger.annotation }] : []), ...components]);
}

// Where an annotation (a clause of the requirement, as the outline's grammar allows) lies in the text.
function locate(haystack, annotation) {
  const lower = haystack.toLowerCase();
  const needle = annotation.trim().toLowerCase().replace(/\s+/g, " ");
  const at = needle ? lower.indexOf(needle) : -1;
  return at < 0 ? null : [at, at + needle.length];
}

function highlight(parts) {
  const view = $("#highlight");
  const requirement = view.dataset.requirement;
  const ranges = parts.map((p) => [p.step, locate(requirement, p.annotation)]).filter(([, r]) => r);
  const cuts = [...new Set([0, requirement.length, ...ranges.flatMap(([, r]) => r)])].sort((a, b) => a - b);
  view.replaceChildren();
  for (let i = 0; i + 1 < cuts.length; i++) {
    const [from, to] = [cuts[i], cuts[i + 1]];
    const steps = ranges.filter(([, [a, b]]) => a <= from && to <= b).map(([step]) => step);
    const piece = requirement.slice(from, to);
    if (!steps.length) {
      view.append(piece);
      continue;
    }
    const span = text("mark", piece);
    span.dataset.steps = steps.join(" ");
    span.title = steps.map((s) => (s ? `step ${s}` : "trigger")).join(", ");
    span.addEventListener("mouseenter", () => link(steps, true));
    span.addEventListener("mouseleave", () => link(steps, false));
    view.append(span);
  }
  view.hidden = false;
}

// Hovering a card, a pill or a highlighted part lights up the others of the same steps.
function link(steps, on) {
  for (const step of steps) {
    document.getElementById(`step-${step}`)?.classList.toggle("linked", on);
    for (const part of document.querySelectorAll("#highlight mark")) {
      if (part.dataset.steps.split(" ").includes(String(step))) part.classList.toggle("linked", on);
    }
  }
}

function drawResult(result) {
  const report = $("#report");
  const violations = result.report?.violations || [];
  report.replaceChildren(violations.length
    ? Object.assign(document.createElement("ul"), { className: "violations" })
    : text("p", result.report ? "Valid: no violations." : "No workflow to validate.", result.report ? "ok" : "muted"));
  for (const v of violations) {
    const item = document.createElement("li");
    item.append(text("code", v.code), ` ${v.step == null ? "trigger / workflow" : `step ${v.step}`}: ${v.message}`);
    report.firstChild.append(item);
  }
  for (const failure of result.failures || []) report.append(text("p", failure, "failure"));
  const cost = $("#cost");
  cost.replaceChildren();
  const rows = [
    ...["retrieve", "outline", "edit", "inputs", "time_to_outline", "total"]
      .filter((k) => k in result.timings).map((k) => [k.replaceAll("_", " "), `${result.timings[k].toFixed(2)} s`]),
    ["tokens", String(result.tokens)],
    ["model calls", String(result.calls)],
  ];
  for (const [name, val] of rows) cost.append(text("dt", name), text("dd", val));
  page.answer = result.answer;
  $("#json").textContent = JSON.stringify(result.answer, null, 2);
  $("#copy").disabled = $("#download").disabled = false;
}

function resetView(requirement) {
  $("#tree").replaceChildren();
  $("#followup").hidden = true;
  $("#diff").replaceChildren();
  page.history = [];
  $("#undo").disabled = true;
  $("#refusal").hidden = true;
  $("#report").replaceChildren(text("p", "After generation.", "muted"));
  $("#cost").replaceChildren();
  $("#json").textContent = "";
  page.answer = null;
  $("#copy").disabled = $("#download").disabled = true;
  const view = $("#highlight");
  view.dataset.requirement = requirement.split(/\s+/).filter(Boolean).join(" ");
  view.textContent = view.dataset.requirement;
  view.hidden = !requirement.trim();
}

function cards() {
  return [...document.querySelectorAll("#tree .card")];
}

// ---- one generation -------------------------------------------------------------------------
function onEvent(kind, data) {
  if (kind === "outline") {
    drawOutline(data.trigger, data.components);
    setPhase("streaming", "Outline ready; generating each step's inputs…");
  } else if (kind === "step") {
    fill(data.step, Object.entries(data.inputs).map(([name, v]) => ({ name, value: v })));
    mark(data.step, "done");
  } else if (kind === "done") {
    const answer = data.answer;
    if (answer.out_of_scope) {
      $("#tree").replaceChildren();
      $("#refusal").textContent = `No workflow: ${answer.reason}`;
      $("#refusal").hidden = false;
    } else {
      const failed = new Set((data.failures || []).map((f) => Number((/^step (\d+)/.exec(f) || [])[1])));
      if (answer.trigger) fill(0, answer.trigger.inputs);
      for (const step of answer.components) fill(step.step, step.inputs);
      for (const node of cards()) mark(node.dataset.step, failed.has(Number(node.dataset.step)) ? "failed" : "done");
    }
    drawResult(data);
    $("#followup").hidden = Boolean(answer.out_of_scope);
    const violations = data.report?.violations.length || 0;
    setPhase("done", answer.out_of_scope ? "Done: refused, not a workflow request."
      : `Done: ${violations ? `${violations} violation(s)` : "a valid workflow"} in ${data.timings.total.toFixed(1)} s.`);
  } else if (kind === "error") {
    for (const node of cards()) if (node.dataset.mark === "working") mark(node.dataset.step, "failed");
    throw new ServerError(data.message);
  }
}

async function generate() {
  const tenant = $("#tenant").value || "core";
  const { requirement, tables, steps } = prepare($("#requirement").value);
  resetView(requirement);
  setPhase("waiting", "Waiting for the outline…");
  await streamed("v1/workflows:stream", { requirement, tenant, pinned: { tables, steps } }, onEvent, "workflow", () => {
    for (const node of cards()) if (node.dataset.mark === "working") mark(node.dataset.step, "waiting");
    setPhase("stopped", "Stopped: the stream is closed, so the server cancels the generation.");
  });
}

// POSTs `body` to a streaming endpoint and hands each event to `handle`, until the `done` state; Stop aborts
// the request (closing the stream cancels the work on the server) and `stopped` shows what that left.
async function streamed(path, body, handle, what, stopped) {
  const controller = new AbortController();
  page.controller = controller;
  page.runs += 1;
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: headers(true),
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    if (!response.ok) throw await failure(response);
    for await (const [kind, data] of events(response.body)) handle(kind, data);
    if ($("#status").dataset.state !== "done") throw new ServerError(`the stream ended before the ${what} was done`);
  } catch (error) {
    if (controller.signal.aborted) stopped();
    else setPhase("error", `Error: ${error.message}`);
  } finally {
    page.controller = null;
  }
}

// ---- a follow-up: edit the workflow shown ---------------------------------------------------
// The whole workflow, drawn done; `changed` steps (new or changed by the last edit) outlined.
function showWorkflow(workflow, changed) {
  drawOutline(workflow.trigger, workflow.components);
  if (workflow.trigger) fill(0, workflow.trigger.inputs);
  for (const step of workflow.components) fill(step.step, step.inputs);
  for (const node of cards()) {
    mark(node.dataset.step, "done");
    node.classList.toggle("changed", changed.includes(Number(node.dataset.step)));
  }
}

function onEditEvent(kind, data, before) {
  if (kind === "script") {
    setPhase("streaming", `Edit script ready (${data.changed.length} new or changed step(s)); writing their inputs…`);
  } else if (kind === "done") {
    drawResult({ ...data, answer: data.workflow });
    $("#diff").replaceChildren(...[...data.diff, ...(data.notes || [])].map((line) => text("li", line)));
    if (data.outcome === "edited") {
      page.history.push(before);
      $("#undo").disabled = false;
      showWorkflow(data.workflow, data.changed);
      setPhase("done", `Edited: ${data.changed.length} new or changed step(s) in ${data.timings.total.toFixed(1)} s.`);
    } else {
      const why = data.outcome === "refused" ? `refused (${(data.failures || []).join("; ")})` : data.outcome;
      setPhase("done", `Not changed: ${why}.`);
    }
  } else if (kind === "error") {
    throw new ServerError(data.message);
  }
}

async function applyFollowUp() {
  const before = page.answer;
  const body = { workflow: before, instruction: $("#instruction").value, tenant: $("#tenant").value || "core" };
  setPhase("waiting", "Waiting for the edit script…");
  await streamed("v1/workflows:editStream", body, (kind, data) => onEditEvent(kind, data, before), "edit", () =>
    setPhase("stopped", "Stopped: the edit is cancelled; the workflow is unchanged."),
  );
}

function undo() {
  const previous = page.history.pop();
  if (!previous) return;
  showWorkflow(previous, []);
  page.answer = previous;
  $("#json").textContent = JSON.stringify(previous, null, 2);
  $("#diff").replaceChildren();
  $("#undo").disabled = !page.history.length;
  setPhase("done", "Undone: back to the workflow before the last change.");
}

// ---- export ---------------------------------------------------------------------------------
async function copyJSON() {
  const json = JSON.stringify(page.answer, null, 2);
  try {
    await navigator.clipboard.writeText(json);
  } catch {
    // No clipboard API outside secure contexts: copy through a selection instead.
    const scratch = Object.assign(document.createElement("textarea"), { value: json });
    document.body.append(scratch);
    scratch.select();
    document.execCommand("copy");
    scratch.remove();
  }
  $("#copy").textContent = "Copied";
  setTimeout(() => ($("#copy").textContent = "Copy JSON"), 1500);
}

function downloadJSON() {
  const blob = new Blob([JSON.stringify(page.answer, null, 2)], { type: "application/json" });
  const link = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: "workflow.json" });
  link.click();
  URL.revokeObjectURL(link.href);
}

// ---- wiring ---------------------------------------------------------------------------------
function init() {
  const token = $("#token");
  token.value = sessionStorage.getItem("flowgen-token") || "";
  token.addEventListener("change", () => {
    if (token.value.trim() === page.token) return; // a second change event for the same token (on blur)
    page.token = token.value.trim();
    sessionStorage.setItem("flowgen-token", page.token);
    loadTenants();
  });
  $("#tenant").addEventListener("change", loadCatalog);
  const box = $("#requirement");
  box.addEventListener("input", () => {
    complete();
    showPins();
  });
  box.addEventListener("keydown", onKey);
  box.addEventListener("blur", () => ($("#complete").hidden = true));
  $("#generate").addEventListener("click", generate);
  $("#stop").addEventListener("click", () => page.controller?.abort());
  $("#copy").addEventListener("click", copyJSON);
  $("#download").addEventListener("click", downloadJSON);
  $("#apply").addEventListener("click", applyFollowUp);
  $("#undo").addEventListener("click", undo);
  page.token = token.value.trim();
  loadTenants();
}

init();
