// The page is built from what the server describes: one section per model it serves, a version
// selector per model, and the chosen version's request fields as inputs, with the type, range,
// choices and default of the describe call (GET /models/<model>/<version>?customized=true; the
// gateway, scripts/gateway.py, passes it on as it passes POST /predictions/...). The JSON is the one
// tsclient/schema.py reads. The key arrives in the URL fragment, which the browser never sends
// anywhere:  http://127.0.0.1:8090/#key=<inference key>
"use strict";

const key = new URLSearchParams(location.hash.slice(1)).get("key");
if (key) history.replaceState(null, "", location.pathname);  // out of the address bar once read
const STREAM_FIELD = "stream";
const SEED_FIELD = "seed";
const TYPE_WORDS = { string: "a string", integer: "an integer", number: "a number", boolean: "a boolean",
                     array: "a list" };
// A sampler that edits pictures has an `image` field (base64) and a `mask`: the page gives them a
// picture chooser and a mask painted over the picture, not text inputs.
const PICTURE_FIELDS = ["image", "mask"];
// The PNG text chunk that carries a result's parameters, under the keyword playgrounds use.
const PARAMETERS_KEYWORD = "parameters";
const GRID_PADDING = 2;  // handlers/image_io.py's grid: the samples 2 pixels apart, near-square

class RefusedError extends Error {}

// The server's refusal in one line: its message names the field and the allowed values already.
async function call(path, options = {}) {
  const response = await fetch(path, { ...options, headers: { ...options.headers, Authorization: `Bearer ${key}` } });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const error = await response.json();
      message = error.error || error.message || message;
      if (error.field && !message.includes(error.field)) message = `${error.field}: ${message}`;
    } catch (_) { /* not JSON */ }
    throw new RefusedError(message);
  }
  return response;
}

async function management(path) { return (await call(path)).json(); }

async function describe(model, version) {
  const [description] = await management(`/models/${model}/${version}?customized=true`);
  const metadata = description.customizedMetadata;  // TorchServe passes it decoded, or as JSON text
  return typeof metadata === "string" ? JSON.parse(metadata) : metadata;
}

function predict(model, version, body, signal) {
  return call(`/predictions/${model}/${version}`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), signal });
}

// A field in words, as tsclient/schema.py says it: "an integer in 1..500", "one of sample, greedy".
function allowed(field) {
  if (field.choices) return `one of ${field.choices.join(", ")}`;
  let text = TYPE_WORDS[field.type] || field.type;
  if (field.bounds) text += ` in ${field.bounds[0]}..${field.bounds[1]}`;
  if (field.max_length != null) {
    text += ` of at most ${field.max_length} ${field.type === "array" ? "items" : "characters"}`;
  }
  if (field.items) text += `, each ${allowed(field.items)}`;
  return text;
}

function defaultWords(name, field) {
  if (field.required) return "required";
  if (field.default != null) return `default ${field.default}`;
  return name === SEED_FIELD ? "empty: a random seed" : "optional";
}

function withinLimits(field, value) {
  if (field.type === "integer" && !Number.isInteger(value)) return false;
  if (typeof value === "number" && !Number.isFinite(value)) return false;
  if (field.bounds && !(field.bounds[0] <= value && value <= field.bounds[1])) return false;
  if (field.max_length != null && value.length > field.max_length) return false;
  return !field.items || value.every((item) => withinLimits(field.items, item));
}

function takesImage(schema) { return schema.request.content === "image"; }

function editsPictures(schema) { return !takesImage(schema) && "image" in schema.request.fields; }

function streams(schema) { return STREAM_FIELD in schema.request.fields; }

function element(tag, { dataset = {}, ...properties } = {}, ...children) {
  const made = Object.assign(document.createElement(tag), properties);
  Object.assign(made.dataset, dataset);
  made.append(...children);
  return made;
}

function part(section, role) { return section.querySelector(`[data-role=${role}]`); }

function png(base64) { return `data:image/png;base64,${base64}`; }

function seconds(value) { return value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString("en"); }

// One input for a field: a select for choices, a checkbox for a boolean, a number input with the
// field's range, or text (a list: comma-separated), under its name and a line saying what it takes
// and its default. Left empty, the server's default applies. The seed has "Reuse" (the last
// result's seed) and "Random" (empty: the server draws one) beside it.
function fieldInput(name, field) {
  let input;
  if (field.choices) {
    input = element("select");
    if (field.default == null) input.append(new Option(field.required ? "choose" : "(none)", ""));
    for (const choice of field.choices) {
      input.append(new Option(choice, choice, choice === field.default, choice === field.default));
    }
  } else if (field.type === "boolean") {
    input = element("input", { type: "checkbox", checked: field.default === true });
  } else if (field.type === "integer" || field.type === "number") {
    input = element("input", { type: "number", step: field.type === "integer" ? "1" : "any",
                               placeholder: field.default == null ? "" : String(field.default) });
    if (field.bounds) [input.min, input.max] = field.bounds.map(String);
  } else {
    input = element("input", { type: "text", placeholder: field.type === "array" ? "comma-separated" : "" });
  }
  Object.assign(input, { name, required: Boolean(field.required),
                         title: `${allowed(field)} (${defaultWords(name, field)})` });
  const hint = element("small", {}, `${allowed(field)} · ${defaultWords(name, field)}`);
  const words = name.replaceAll("_", " ");
  if (field.type === "boolean") return element("label", { className: "check" }, input, words, hint);
  if (name !== SEED_FIELD) return element("label", {}, words, input, hint);
  const reuse = element("button", { type: "button", textContent: "Reuse", disabled: true,
                                    title: "the seed of the last result", dataset: { role: "reuse-seed" } });
  const random = element("button", { type: "button", textContent: "Random", title: "a new seed each run",
                                     dataset: { role: "random-seed" } });
  random.addEventListener("click", () => { input.value = ""; });
  return element("label", {}, words, element("div", { className: "seed" }, input, reuse, random), hint);
}

// The filled-in fields as a request body, each checked against its limits first (`skipped`: those
// the page fills in otherwise).
function requestBody(form, fields, skipped = []) {
  const body = {};
  for (const [name, field] of Object.entries(fields)) {
    if (skipped.includes(name)) continue;
    const input = form.elements.namedItem(name);  // not form.elements[name]: a field may be called "length"
    if (!input) continue;
    if (field.type === "boolean") {
      body[name] = input.checked;
      continue;
    }
    const text = input.value.trim();
    if (text === "") continue;
    const value = field.choices ? field.choices.find((choice) => String(choice) === text)
      : field.type === "integer" || field.type === "number" ? Number(text)
        : field.type === "array" ? text.split(",").map((item) => item.trim()).filter(Boolean) : input.value;
    if (!withinLimits(field, value)) throw new RefusedError(`${name}: ${text} is not ${allowed(field)}`);
    body[name] = value;
  }
  return body;
}

// The form set to a body's values (a history entry's), the fields it leaves out emptied.
function fillForm(form, fields, body) {
  for (const [name, field] of Object.entries(fields)) {
    const input = form.elements.namedItem(name);
    if (!input || input.type === "file") continue;
    const value = body[name];
    if (field.type === "boolean") input.checked = value ?? field.default === true;
    else if (field.choices) input.value = String(value ?? field.default ?? "");
    else input.value = value == null ? "" : Array.isArray(value) ? value.join(", ") : String(value);
  }
}

// The weights' summary the describe call carries: size, training time and the headline figures.
function about(schema) {
  const { parameters, training_seconds: trained, metrics } = schema.weights || {};
  const parts = [`version ${schema.version}`];
  if (typeof parameters === "number") parts.push(`${parameters.toLocaleString("en")} parameters`);
  if (trained) parts.push(`trained in ${seconds(trained)} s`);
  for (const [name, value] of Object.entries(metrics || {})) {
    if (typeof value === "number") parts.push(`${name.replaceAll("_", " ")} ${Number(value.toPrecision(4))}`);
  }
  return parts.join(" · ");
}

// PNG bytes and the text chunk of parameters that playgrounds write into what they save.
function bytesOf(base64) { return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)); }

function base64Of(dataUrl) { return dataUrl.slice(dataUrl.indexOf(",") + 1); }

function base64From(bytes) {
  let text = "";
  for (let start = 0; start < bytes.length; start += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(start, start + 0x8000));
  }
  return btoa(text);
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// The PNG (base64) with a tEXt chunk `parameters` (JSON) after its header chunk. tEXt is Latin-1,
// so the JSON escapes anything outside printable ASCII.
const HEADER_END = 8 + 25;  // the signature, then IHDR: length, type, 13 bytes, CRC

function pngWithParameters(base64, parameters) {
  const image = bytesOf(base64);
  const json = JSON.stringify(parameters)
    .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  const data = new TextEncoder().encode(`${PARAMETERS_KEYWORD}\0${json}`);
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(new TextEncoder().encode("tEXt"), 4);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  const out = new Uint8Array(image.length + chunk.length);
  out.set(image.subarray(0, HEADER_END));
  out.set(chunk, HEADER_END);
  out.set(image.subarray(HEADER_END), HEADER_END + chunk.length);
  return png(base64From(out));
}

// Each sample of a grid, cut out as its own PNG (base64), as handlers/image_io.py laid them out.
function gridSamples(image, count) {
  const columns = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  const width = (image.naturalWidth - GRID_PADDING) / columns - GRID_PADDING;
  const height = (image.naturalHeight - GRID_PADDING) / rows - GRID_PADDING;
  return Array.from({ length: count }, (_, i) => {
    const canvas = element("canvas", { width, height });
    canvas.getContext("2d").drawImage(image, GRID_PADDING + (i % columns) * (width + GRID_PADDING),
                                      GRID_PADDING + Math.floor(i / columns) * (height + GRID_PADDING),
                                      width, height, 0, 0, width, height);
    return base64Of(canvas.toDataURL("image/png"));
  });
}

// The viewer: one picture enlarged, its caption, and its download (the parameters inside).
function openViewer(source, caption, filename) {
  const viewer = document.getElementById("viewer");
  part(viewer, "viewer-image").src = source;
  part(viewer, "viewer-image").alt = caption;
  part(viewer, "viewer-caption").textContent = caption;
  Object.assign(part(viewer, "viewer-download"), { href: source, download: filename });
  viewer.showModal();
}

// What a result's answer says of the request: its samples, seed, labels, guidance and strength.
function summary(answer) {
  const parts = [];
  if (answer.num_samples != null) parts.push(`${answer.num_samples} samples`);
  if (answer.seed != null) parts.push(`seed ${answer.seed}`);
  if (answer.labels) parts.push(`labels ${[...new Set(answer.labels)].join(", ")}`);
  if (answer.guidance != null) parts.push(`guidance ${answer.guidance}`);
  if (answer.strength != null) parts.push(`strength ${answer.strength}`);
  return parts.join(", ");
}

// A result's images: the grid (click to enlarge) with its download, and each sample on its own
// (click to enlarge and download); the downloads carry `parameters` inside the PNG.
function imagesView(answer, result) {
  const name = `${result.model}-${result.version}${answer.seed != null ? `-seed${answer.seed}` : ""}`;
  const samples = element("div", { className: "samples", dataset: { role: "samples" } });
  const addSamples = (images) => samples.append(...images.map((image, i) => {
    const source = pngWithParameters(image, { ...result.parameters, sample: i });
    const button = element("button", { type: "button", title: `sample ${i}: enlarge` },
                           element("img", { src: png(image), alt: `sample ${i}` }));
    button.addEventListener("click", () => openViewer(source, `sample ${i} · ${summary(answer)}`, `${name}-sample${i}.png`));
    return button;
  }));
  if (!answer.image_base64_png) {
    addSamples(answer.images_base64_png);
    return [samples];
  }
  const grid = pngWithParameters(answer.image_base64_png, result.parameters);
  const shown = element("img", { src: png(answer.image_base64_png), alt: "the answer's images",
                                 title: "enlarge", dataset: { role: "result" } });
  shown.addEventListener("click", () => openViewer(grid, summary(answer), `${name}.png`));
  if (answer.num_samples > 1) shown.addEventListener("load", () => addSamples(gridSamples(shown, answer.num_samples)), { once: true });
  return [element("figure", { className: "result" }, shown, element("figcaption", {}, summary(answer))),
          samples,
          element("a", { href: grid, download: `${name}.png`, className: "button", textContent: "Download grid",
                         dataset: { role: "download" } })];
}

// The answer, shown by its kind: text, a vector, neighbours, class probabilities, images, else JSON.
function answerView(answer, result, explore) {
  const seed = answer.seed != null && !("num_samples" in answer)
    ? [element("p", { className: "about", textContent: `seed ${answer.seed}`, dataset: { role: "seed" } })] : [];
  if ("generated_text" in answer) {
    return [element("p", { className: "text", textContent: answer.generated_text, dataset: { role: "text" } }), ...seed];
  }
  if ("vector" in answer) return vectorView(answer);
  if (Array.isArray(answer.results) && answer.results.every((item) => "token" in item)) {
    const list = element("ol", { className: "neighbours", dataset: { role: "neighbours" } });
    for (const { token, score } of answer.results) {
      const link = element("button", { type: "button", textContent: token });
      link.addEventListener("click", () => explore(token));
      list.append(element("li", {}, link, ` ${score.toFixed(3)}`));
    }
    return [list];
  }
  if (Array.isArray(answer.results)) return answer.results.flatMap(vectorView);
  if ("pred_label" in answer) {
    return [element("div", { className: "bars", dataset: { role: "bars" } }, ...answer.top_k.map(({ label, prob }) =>
      element("div", {}, element("span", { className: "label", textContent: label }),
              element("span", { className: "bar", style: `width: ${(prob * 20).toFixed(2)}rem` }),
              element("span", { className: "prob", textContent: `${(prob * 100).toFixed(1)}%` }))))];
  }
  if (answer.image_base64_png || answer.images_base64_png) return imagesView(answer, result);
  return [element("pre", { className: "text", textContent: JSON.stringify(answer, null, 2) })];
}

// A history entry's button: a thumbnail (or the start of the text) and, in a line, the version and
// the parameters that differ from the version's defaults.
function historyButton(result, fields) {
  const { answer, parameters } = result;
  const thumbnail = answer.image_base64_png || (answer.images_base64_png || [])[0];
  const words = Object.entries(parameters)
    .filter(([name, value]) => name !== "model" && !(fields[name] && fields[name].default === value))
    .map(([name, value]) => `${name.replaceAll("_", " ")} ${Array.isArray(value) ? value.join(",") : value}`)
    .join(" · ");
  const shown = thumbnail ? element("img", { src: png(thumbnail), alt: "" })
    : result.picture ? element("img", { src: result.picture, alt: "" }) : "";
  const text = typeof answer.generated_text === "string" ? `“${answer.generated_text.length > 40 ? `${answer.generated_text.slice(0, 40)}…` : answer.generated_text}” ` : "";
  return element("button", { type: "button", title: "show this result again, with its settings" },
                 shown, element("span", {}, text + words));
}

// A vector's norm, and its values as a strip of colour (red above zero, blue below).
function vectorView(answer) {
  if (!answer.vector) {
    return [element("p", { textContent: `“${answer.word}” has no vector`, dataset: { role: "norm" } })];
  }
  const norm = Math.hypot(...answer.vector).toFixed(3);
  const canvas = element("canvas", { width: answer.vector.length, height: 1, className: "vector" });
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(answer.vector.length, 1);
  const scale = Math.max(...answer.vector.map(Math.abs)) || 1;
  answer.vector.forEach((value, i) => {
    const fade = 255 * (1 - Math.abs(value) / scale);
    pixels.data.set(value >= 0 ? [255, fade, fade, 255] : [fade, fade, 255, 255], 4 * i);
  });
  context.putImageData(pixels, 0, 0);
  const words = `“${answer.word}”: ${answer.vector.length}-d vector, norm ${norm}`;
  return [element("p", { textContent: words, dataset: { role: "norm" } }), canvas];
}

// The picture to edit and the mask painted on it, white where the sampler is to generate. The mask
// is painted at PAINTED_SIZE pixels (the server resizes it to the sampler's 32x32); until a stroke
// is painted there is none, and the request is image-to-image.
const PAINTED_SIZE = 256;
const BRUSH_RADIUS = 20;

function pictureEditor(fields) {
  const file = element("input", { type: "file", accept: "image/*", dataset: { role: "edit-picture" },
                                  title: `the picture to edit (${allowed(fields.image)}: its file, sent as base64)` });
  const shown = element("canvas", { width: PAINTED_SIZE, height: PAINTED_SIZE, className: "painter",
                                    title: "paint the region to generate" });
  const strokes = element("canvas", { width: PAINTED_SIZE, height: PAINTED_SIZE });  // white on transparent
  const clear = element("button", { type: "button", textContent: "Clear mask" });
  const remove = element("button", { type: "button", textContent: "Remove picture" });
  const painter = element("div", { className: "painter", hidden: true, dataset: { role: "painter" } }, shown,
                          element("small", { textContent: "paint where to generate (inpainting); no paint: image-to-image" }),
                          element("div", { className: "actions" }, clear, remove));
  const editor = { picture: null, image: new Image(), painted: false };

  const redraw = () => {
    const context = shown.getContext("2d");
    context.clearRect(0, 0, PAINTED_SIZE, PAINTED_SIZE);
    context.drawImage(editor.image, 0, 0, PAINTED_SIZE, PAINTED_SIZE);
    context.globalAlpha = 0.6;
    context.drawImage(strokes, 0, 0);
    context.globalAlpha = 1;
  };
  const maskPng = () => {  // black where the picture stays, the strokes white
    const mask = element("canvas", { width: PAINTED_SIZE, height: PAINTED_SIZE });
    const context = mask.getContext("2d");
    context.fillStyle = "black";
    context.fillRect(0, 0, PAINTED_SIZE, PAINTED_SIZE);
    context.drawImage(strokes, 0, 0);
    return mask.toDataURL("image/png");
  };
  const paint = (event) => {
    if (!(event.buttons & 1)) return;
    const box = shown.getBoundingClientRect();
    const context = strokes.getContext("2d");
    context.fillStyle = "white";
    context.beginPath();
    context.arc((event.clientX - box.left) * PAINTED_SIZE / box.width, (event.clientY - box.top) * PAINTED_SIZE / box.height,
                BRUSH_RADIUS, 0, 2 * Math.PI);
    context.fill();
    editor.painted = true;
    redraw();
  };
  shown.addEventListener("pointerdown", paint);
  shown.addEventListener("pointermove", paint);
  clear.addEventListener("click", () => {
    strokes.getContext("2d").clearRect(0, 0, PAINTED_SIZE, PAINTED_SIZE);
    editor.painted = false;
    redraw();
  });
  remove.addEventListener("click", () => {  // back to sampling from noise
    clear.click();
    editor.picture = null;
    file.value = "";
    painter.hidden = true;
  });
  file.addEventListener("change", async () => {
    if (!file.files[0]) return;
    editor.picture = await readAsDataUrl(file.files[0]);
    editor.image.onload = redraw;
    editor.image.src = editor.picture;
    painter.hidden = false;
  });
  // The body's picture fields: the picture, and the mask once a stroke is painted.
  editor.fields = () => (!editor.picture ? {} : {
    image: base64Of(editor.picture), ...(editor.painted ? { mask: base64Of(maskPng()) } : {}) });
  return { elements: [element("label", {}, "picture to edit", file,
                              element("small", {}, "optional: image-to-image, or inpainting where painted")),
                      painter], editor };
}

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

// The seconds a sampler request costs at this server's pace (the describe call's measured seconds
// a sample-step), from its samples and steps; null where the version says no pace. A guided step,
// which evaluates the network twice, takes longer than this counts.
function expectedSeconds(schema, body) {
  const { fields } = schema.request;
  const steps = Object.keys(fields).find((name) => name.endsWith("steps"));
  const pace = schema.cost && schema.cost.seconds_per_sample_step;
  if (!pace || !steps) return null;
  const count = (name) => body[name] ?? fields[name].default;
  return pace * count("num_samples") * count(steps);
}

// A sampler's stream (newline-delimited JSON): progress, 8 previews labelled with their step, then
// the result. The status says the step and, from the pace so far, the time left.
async function showStream(section, response, show, expected) {
  const progress = section.querySelector("progress");
  const status = part(section, "status");
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let first = null;  // the first step seen, and when
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new RefusedError("the stream ended without a result");
    buffered += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const message = JSON.parse(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      if (message.type === "progress" || message.type === "preview") {
        const { step, steps } = message;
        first = first || { step, at: performance.now() };
        const pace = step > first.step ? (performance.now() - first.at) / 1000 / (step - first.step)
          : expected && expected / steps;
        progress.max = steps;
        progress.value = step;
        status.textContent = `step ${step} of ${steps}` + (pace && step < steps ? ` · about ${seconds(pace * (steps - step))} s left` : "");
      }
      if (message.type === "preview") {
        part(section, "previews").append(element("figure", {},
          element("img", { src: png(message.image_base64_png), alt: `step ${message.step}` }),
          element("figcaption", { textContent: `step ${message.step}` })));
      } else if (message.type === "result") {
        show(message);
        return;
      } else if (message.type === "error") {
        reader.cancel();
        throw new RefusedError(message.error);
      }
    }
  }
}

// A model's section: its versions, then the chosen version's form, rebuilt when the version
// changes; the output beside it, and this visit's results under it.
async function buildSection(model) {
  const section = document.getElementById("model-section").content.firstElementChild.cloneNode(true);
  section.id = model;
  part(section, "name").textContent = model;
  document.querySelector("main").append(section);
  document.getElementById("models").append(element("a", { href: `#${model}`, textContent: model }));
  const form = section.querySelector("form");
  const alert = section.querySelector("[role=alert]");
  const status = part(section, "status");
  const picture = part(section, "picture");
  const runButton = form.querySelector("button.primary");
  const cancelButton = part(section, "cancel");
  const progress = section.querySelector("progress");
  const drop = part(section, "drop");
  const state = { schema: null, image: null, editor: null, running: null, lastSeed: null };

  const reuseButton = () => form.querySelector("[data-role=reuse-seed]");
  const show = (result) => {
    part(section, "answer").replaceChildren(...answerView(result.answer, result, explore));
    if (result.answer.seed != null) state.lastSeed = result.answer.seed;
    if (reuseButton()) reuseButton().disabled = state.lastSeed == null;
  };
  const remember = (result, schema) => {
    const button = historyButton(result, schema.request.fields);
    button.addEventListener("click", () => restore(result, button));
    part(section, "history").prepend(element("li", {}, button));
    part(section, "history-box").hidden = false;
    markCurrent(button);
  };
  const markCurrent = (button) => {
    for (const other of part(section, "history").querySelectorAll("button")) other.classList.toggle("current", other === button);
  };
  // A result of this visit again: its answer, its version and settings back in the form.
  const restore = async (result, button) => {
    if (state.running) return;
    if (result.version !== state.schema.version) {
      form.elements.version.value = result.version;
      if (!await load(result.version)) return;
    }
    fillForm(form, state.schema.request.fields, result.parameters);
    if (result.picture) state.image = picture.src = result.picture;
    alert.textContent = "";
    part(section, "previews").replaceChildren();
    status.textContent = summary(result.answer);
    show(result);
    markCurrent(button);
  };

  // What this section shows of a request that was not sent or not answered: the error, alone.
  const refused = (message) => {
    alert.textContent = message;
    status.textContent = "refused";
  };
  const run = async () => {
    if (state.running) return;  // a second click (or Enter) while one runs is not a second request
    alert.textContent = "";
    part(section, "previews").replaceChildren();
    part(section, "answer").replaceChildren();  // no earlier answer next to this request's error
    const { schema, image } = state;  // as sent: a picture dropped meanwhile is the next request's
    let body;
    try {
      body = state.editor
        ? { ...requestBody(form, schema.request.fields, PICTURE_FIELDS), ...state.editor.fields() }
        : requestBody(form, schema.request.fields);
    } catch (error) {
      refused(error.message);
      return;
    }
    if (takesImage(schema)) {
      if (!image) {
        refused("choose or drop an image first");
        return;
      }
      body.image = base64Of(image);
    }
    const { version } = schema;
    const running = state.running = new AbortController();
    runButton.disabled = form.elements.version.disabled = true;
    const sent = Object.fromEntries(Object.entries(body).filter(([name]) => !PICTURE_FIELDS.includes(name)));
    const finish = (answer) => {
      const result = { model, version, answer, picture: takesImage(schema) ? image : null,
                       parameters: { model, version, ...sent, ...(answer.seed != null ? { seed: answer.seed } : {}) } };
      show(result);
      remember(result, schema);
    };
    try {
      if (!streams(schema)) {
        finish(await (await predict(model, version, body, running.signal)).json());
        return;
      }
      const expected = expectedSeconds(schema, body);
      progress.value = 0;
      status.textContent = "waiting for a worker" + (expected ? ` · about ${seconds(expected)} s of sampling at this server's pace` : "");
      cancelButton.hidden = false;
      const started = performance.now();
      await showStream(section, await predict(model, version, { ...body, [STREAM_FIELD]: true }, running.signal),
                       (answer) => {
                         finish(answer);
                         status.textContent = `done in ${seconds((performance.now() - started) / 1000)} s: ${summary(answer)}`;
                       }, expected);
    } catch (error) {
      if (error.name === "AbortError") {
        status.textContent = progress.value > 0 ? `cancelled at step ${progress.value} of ${progress.max}`
          : "cancelled before the first step";
      } else {
        refused(error.message);
      }
    } finally {
      state.running = null;
      runButton.disabled = form.elements.version.disabled = false;
      cancelButton.hidden = true;
    }
  };
  // A word of the answer clicked: the first text field takes it, and the model runs again.
  const explore = (word) => {
    form.querySelector("input[type=text]").value = word;
    run();
  };
  // The version's form from its describe call. Where calls come back out of order the latest
  // choice wins; false where this one did not (or failed: the error shows, the select goes back).
  let loads = 0;
  const load = async (version) => {
    const mine = ++loads;
    let schema;
    try {
      schema = await describe(model, version);
    } catch (error) {
      if (mine === loads && state.schema) {
        alert.textContent = error.message;
        form.elements.version.value = state.schema.version;
      }
      if (!state.schema) throw error;
      return false;
    }
    if (mine !== loads) return false;
    state.schema = schema;
    const fields = part(section, "fields");
    const typed = [...fields.querySelectorAll("input:not([type=checkbox])")].filter((input) => input.value !== "");
    const edits = editsPictures(state.schema);
    const editor = edits ? pictureEditor(state.schema.request.fields) : null;
    state.editor = editor && editor.editor;
    fields.replaceChildren(...Object.entries(state.schema.request.fields)
      .filter(([name]) => name !== STREAM_FIELD && !(edits && PICTURE_FIELDS.includes(name)))
      .map(([name, field]) => fieldInput(name, field)), ...(editor ? editor.elements : []));
    for (const input of typed) {  // what was typed stays, where the version has that field too
      const same = form.elements.namedItem(input.name);
      if (same) same.value = input.value;
    }
    const reuse = reuseButton();
    if (reuse) {
      reuse.disabled = state.lastSeed == null;
      reuse.addEventListener("click", () => { form.elements.namedItem(SEED_FIELD).value = String(state.lastSeed); });
    }
    part(section, "about").textContent = about(state.schema);
    drop.hidden = !takesImage(state.schema);
    part(section, "progress").hidden = !streams(state.schema);
    form.dataset.version = state.schema.version;
    return true;
  };
  const useImage = async (file) => {
    if (!file) return;
    state.image = picture.src = await readAsDataUrl(file);
    picture.hidden = false;
    run();
  };

  try {
    const [versions, [served]] = await Promise.all([management(`/models/${model}/all`),
                                                   management(`/models/${model}`)]);
    const byDefault = served.modelVersion;  // /models/<model> describes the default version
    form.elements.version.append(...versions.map(({ modelVersion: version }) => new Option(
      version === byDefault ? `${version} (default)` : version, version, false, version === byDefault)));
    await load(byDefault);
  } catch (error) {
    alert.textContent = error.message;
    return;
  }
  form.addEventListener("submit", (event) => { event.preventDefault(); run(); });
  cancelButton.addEventListener("click", () => state.running && state.running.abort());
  form.elements.version.addEventListener("change", async () => {
    if (await load(form.elements.version.value) && state.image) run();
  });
  form.elements.image.addEventListener("change", () => useImage(form.elements.image.files[0]));
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    useImage(event.dataTransfer.files[0]);
  });
}

async function buildPage() {
  const connection = document.getElementById("connection");
  const viewer = document.getElementById("viewer");
  // A click outside the picture and its buttons (on the backdrop) closes the viewer.
  viewer.addEventListener("click", (event) => { if (event.target === viewer) viewer.close(); });
  if (!key) return;
  try {
    const { models } = await management("/models");
    connection.textContent = "Key in hand: every model below is live.";
    // Each section fills in on its own: a model whose worker is busy sampling does not hold up the others.
    for (const { modelName } of models) buildSection(modelName);
  } catch (error) {
    connection.textContent = `The server refused the page (${error.message}): run make ui again for a fresh address.`;
  }
}

buildPage();
