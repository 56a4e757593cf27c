-- The tensor module (SPEC §12) from Lua: every function and method, 1-based conventions,
-- `value, err` failures worded for Lua.
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local ort = require("onnxruntime")
local dir = arg[1]

-- No Python in the messages: no None/True/False, no tracebacks, no reprs of lists.
local function lua_worded(err)
  assert(not err:find("None", 1, true) and not err:find("True", 1, true)
    and not err:find("Traceback", 1, true) and not err:find("[[]'", 1, false), err)
  return err
end

local function fails(text, value, err)
  return lua_worded(H.fails(text, value, err))
end

local function near(a, b, tol)
  assert(H.near(a, b, tol), ("expected %s, got %s"):format(b, a))
end

-- SPEC §12's example.
local t = assert(ort.tensor("float32", {2, 3}, {1, 9, 3, 8, 2, 7}))
assert(t:slice(2, 2, 3):to_table()[1] == 9)
assert(t:topk(2, 2).values:to_table()[1] == 9)
assert(t:topk(2, 2).indices:to_table()[1] == 2)

-- Creation extras of §12 (the session half already takes them).
H.eq(ort.tensor("int32", {2, 2}, 7):to_table(), {7, 7, 7, 7}, "scalar fill")
H.eq(ort.tensor("string", {2}, "ab"):to_table(), {"ab", "ab"}, "string fill")
H.eq(ort.tensor("float32", {2}):to_table(), {0, 0}, "empty tensor")

-- info, get/set/fill/clone/copy_from_bytes/to
H.eq(t:info(), {shape = {2, 3}, rank = 2, size = 6, type = "float32"}, "info")
assert(t:rank() == 2 and t:size() == 6 and t:type() == "float32")
assert(#t:bytes() == 24)
assert(t:get(1, 2) == 9 and t:get(2, 3) == 7)
fails("tensor:get(): index 3 out of range for dimension 1 of size 2", t:get(3, 1))
fails("argument 1 is 0; Lua positions start at 1", t:get(0, 1))
local c = t:clone()
assert(c:set(1, 1, 42))
assert(c:get(1, 1) == 42 and t:get(1, 1) == 1, "clone copies")
assert(c:fill(0.5))
H.eq(c:to_table(), {0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, "fill")
assert(c:fill({1, 2, 3, 4, 5, 6}))
fails("one value per element (6 for shape [2, 3]), got 2", c:fill({1, 2}))
assert(c:copy_from_bytes(t:bytes()))
H.eq(c:to_table(), t:to_table(), "copy_from_bytes")
assert(t:to("int64"):type() == "int64")
fails("string tensors convert only to string", t:to("string"))

-- shape methods
H.eq(t:reshape({3, 2}):shape(), {3, 2}, "reshape")
H.eq(t:reshape({-1}):shape(), {6}, "reshape -1")
H.eq(t:transpose():shape(), {3, 2}, "transpose")
H.eq(t:transpose({2, 1}):to_table(), {1, 8, 9, 2, 3, 7}, "transpose axes")
local x3 = ort.tensor("float32", {2, 3, 4})
H.eq(x3:flatten():shape(), {24}, "flatten")
H.eq(x3:flatten(2):shape(), {2, 12}, "flatten from 2")
H.eq(x3:flatten(1, 2):shape(), {6, 4}, "flatten 1..2")
H.eq(ort.tensor("float32", {1, 3, 1}):squeeze():shape(), {3}, "squeeze")
H.eq(ort.tensor("float32", {1, 3, 1}):squeeze(1):shape(), {3, 1}, "squeeze 1")
H.eq(t:unsqueeze(1):shape(), {1, 2, 3}, "unsqueeze")
H.eq(t:unsqueeze(3):shape(), {2, 3, 1}, "unsqueeze last")
H.eq(t:slice(2, 1, 3, 2):to_table(), {1, 3, 8, 7}, "slice with step, stop inclusive")
fails("tensor:slice(): dim 5 out of range for a tensor of rank 2; valid: 1..2", t:slice(5, 1, 2))
fails("out of bounds", t:slice(2, 2, 4))
H.eq(t:select(1, 2):to_table(), {8, 2, 7}, "select")
H.eq(t:gather(2, {3, 1}):to_table(), {3, 1, 7, 8}, "gather table")
H.eq(t:gather(2, ort.tensor("int64", {1}, {2})):to_table(), {9, 2}, "gather tensor")
fails("index 4 out of range", t:gather(2, {4}))

-- arithmetic
H.eq(t:add(1):to_table(), {2, 10, 4, 9, 3, 8}, "add")
H.eq(t:sub(t):to_table(), {0, 0, 0, 0, 0, 0}, "sub")
H.eq(t:mul(2):to_table(), {2, 18, 6, 16, 4, 14}, "mul")
H.eq(ort.tensor("int32", {2}, {3, 4}):div(2):to_table(), {1.5, 2}, "div")
fails("same shape [2, 3]", t:add(ort.tensor("float32", {3})))
H.eq(t:clamp(2, 8):to_table(), {2, 8, 3, 8, 2, 7}, "clamp")
H.eq(ort.clamp(t, 2, 8):to_table(), {2, 8, 3, 8, 2, 7}, "module clamp")
assert(ort.sigmoid(ort.tensor("float32", {1}, {0})):to_table()[1] == 0.5)
assert(t:sigmoid():type() == "float32" and ort.tensor("int32", {1}, {0}):sigmoid():type() == "float32")
near(t:exp():to_table()[1], math.exp(1), 1e-5)
near(ort.exp(t):to_table()[2], math.exp(9), 1e-1)
H.eq(t:matmul(t:transpose()):to_table(), {91, 47, 47, 117}, "matmul")
H.eq(ort.matmul(ort.tensor("float32", {3}, {1, 1, 1}), t:transpose()):to_table(), {13, 17},
  "matmul vector")
assert(ort.tensor("float32", {2}, {1, 2}):dot(ort.tensor("float32", {2}, {3, 4})) == 11)

-- reductions and sorting
assert(t:argmax() == 2, "argmax is 1-based")
H.eq(t:argmax(2):to_table(), {2, 1}, "argmax axis")
assert(t:argmax(2):type() == "int64")
assert(t:sum() == 30 and t:mean() == 5 and t:max() == 9 and t:min() == 1)
H.eq(t:sum(1):to_table(), {9, 11, 10}, "sum axis")
H.eq(t:max(2):to_table(), {9, 8}, "max axis")
local sm = t:softmax()
near(sm:sum(2):to_table()[1], 1, 1e-6)
near(ort.tensor("float32", {2}, {3, 4}):normalize():to_table()[1], 0.6, 1e-6)
local s = t:sort(2)
H.eq(s.values:to_table(), {1, 3, 9, 2, 7, 8}, "sort values")
H.eq(s.indices:to_table(), {1, 3, 2, 2, 3, 1}, "sort indices 1-based")
H.eq(t:sort(2, true).values:to_table(), {9, 3, 1, 8, 7, 2}, "sort descending")
H.eq(t:topk(1, 1).indices:to_table(), {2, 1, 2}, "topk axis 1")
fails("k must be an integer in 1..3", t:topk(4))

-- module helpers
H.eq(ort.where(ort.tensor("bool", {3}, {true, false, true}), 1, ort.tensor("float32", {3}, {7, 8, 9})):to_table(),
  {1, 8, 1}, "where")
H.eq(ort.concat({t, t}, 2):shape(), {2, 6}, "concat")
H.eq(ort.concat({t, t}):shape(), {4, 3}, "concat default axis 1")
H.eq(ort.stack({t, t}):shape(), {2, 2, 3}, "stack")
fails("differ outside axis 1", ort.concat({t, t:transpose()}))

-- methods work on session outputs
local session = assert(ort.session(dir .. "/add.onnx"))
local out = assert(session:run({x = ort.tensor("float32", {1, 2}, {1, 2}),
  bias = ort.tensor("float32", {1, 2}, {0.5, 0.5})}))
assert(out.y:argmax() == 2 and out.y:max() == 2.5)
assert(out.y:set(1, 1, 7) and out.y:get(1, 1) == 7)

-- boxes
local boxes = ort.tensor("float32", {4, 4}, {0, 0, 10, 10, 1, 1, 11, 11, 50, 50, 60, 60, 0, 0, 10, 9})
local scores = ort.tensor("float32", {4}, {0.9, 0.8, 0.7, 0.95})
local keep = assert(ort.nms(boxes, scores, {iou_threshold = 0.5}))
H.eq(keep:to_table(), {4, 3}, "nms 1-based")
assert(keep:type() == "int64")
H.eq(ort.nms(boxes, scores, {iou_threshold = 0.5, top_k = 1}):to_table(), {4}, "top_k")
H.eq(ort.nms(boxes, {0.9, 0.8, 0.7, 0.95}, {iou_threshold = 0.5, class_aware = true,
  class_ids = {1, 2, 1, 1}}):to_table(), {4, 2, 3}, "class aware, tables in")
H.eq(ort.nms({{0, 0, 1, 1}}, {1}):to_table(), {1}, "nested tables")
fails("unknown option \"iou_treshold\" (did you mean iou_threshold?)",
  ort.nms(boxes, scores, {iou_treshold = 0.5}))
fails("option iou_threshold must be a number, got \"x\"", ort.nms(boxes, scores, {iou_threshold = "x"}))
fails("option class_aware must be true or false, got 1", ort.nms(boxes, scores, {class_aware = 1}))
fails("expected 4 scores (one per box), got 3", ort.nms(boxes, {1, 2, 3}))
local rboxes = ort.tensor("float32", {3, 5}, {0, 0, 4, 2, 0, 0.2, 0, 4, 2, 0.1, 20, 20, 2, 2, 0})
H.eq(ort.rotated_nms(rboxes, {0.9, 0.8, 0.1}):to_table(), {1, 3}, "rotated_nms")
H.eq(ort.rotated_nms(rboxes, ort.tensor("float32", {3, 1}, {0.9, 0.8, 0.1}),
  {iou_threshold = 0.95}):to_table(), {1, 2, 3}, "rotated_nms [N, 1] scores")
local pts = ort.box_points({10, 20, 4, 2, 0})
assert(#pts == 4 and #pts[1] == 2, "one box: one point table")
assert(#ort.box_points(rboxes) == 3, "several boxes: a list")
assert(#ort.box_points(ort.tensor("float32", {1, 5}, {0, 0, 1, 1, 0})) == 4, "[1, 5]: one point table")
H.eq(ort.xywh_to_xyxy({{5, 5, 10, 4}}):to_table(), {0, 3, 10, 7}, "xywh_to_xyxy")
H.eq(ort.xyxy_to_xywh({{0, 3, 10, 7}}):to_table(), {5, 5, 10, 4}, "xyxy_to_xywh")
near(ort.rotated_iou({0, 0, 2, 2, 0}, {1, 0, 2, 2, 0}), 1 / 3, 1e-9)

-- decoding: a [1, 4 + 2, 6] YOLOv8-style output with two objects
local yolo = ort.tensor("float32", {1, 6, 6}, {
  50, 51, 200, 10, 10, 10,   -- cx
  50, 50, 100, 10, 10, 10,   -- cy
  20, 20, 40, 1, 1, 1,       -- w
  10, 10, 40, 1, 1, 1,       -- h
  0.9, 0.8, 0.1, 0, 0, 0,    -- class 1
  0.1, 0.1, 0.7, 0, 0, 0,    -- class 2
})
local d = assert(ort.decode_yolo(yolo, {score_threshold = 0.5}))
H.eq(d.keep_indices:to_table(), {1, 3}, "keep_indices 1-based")
H.eq(d.class_ids:to_table(), {1, 1, 2}, "class ids 1-based")
H.eq(d.selected_rows:to_table(), {1, 2, 3}, "rows 1-based")
H.eq(d.boxes:slice(1, 1, 1):to_table(), {40, 45, 60, 55}, "first box")
local recs = ort.records_from_boxes(d.boxes, d.scores, d.class_ids, d.keep_indices)
assert(#recs == 2 and recs[2].class_id == 2 and recs[2].row_index == 3 and recs[1].width == 20)
assert(recs[1].cx == 50 and recs[1].x2 == 60 and recs[1].box[4] == 55)
local info = {scale_x = 0.5, scale_y = 0.5, pad_left = 10, pad_top = 0}
local mapped = ort.decode_yolo(yolo, {score_threshold = 0.5, transform = info})
H.eq(mapped.boxes:slice(1, 1, 1):to_table(), {60, 90, 100, 110}, "transform")
H.eq(ort.scale_boxes(d.boxes:slice(1, 1, 1), info):to_table(), {60, 90, 100, 110}, "scale_boxes")
local m = ort.decode_matrix_candidates(yolo, {task = "detect", class_start = 5, class_end = 6},
  {score_threshold = 0.5, nms = false})
H.eq(m.keep_indices:to_table(), {1, 2, 3}, "matrix without nms")
local m1 = ort.decode_matrix_candidates(yolo, {class_start = 5, class_end = 5}, {score_threshold = 0.5})
H.eq(m1.class_ids:to_table(), {1, 1}, "class_end inclusive")
local obb = ort.tensor("float32", {1, 7, 2}, {50, 90, 50, 90, 40, 10, 10, 10, 0.9, 0.1, 0, 0.8, 0, 0.3})
local od = assert(ort.decode_yolo_obb(obb, {score_threshold = 0.5, prediction_layout = "columns"}))
H.eq(od.boxes:shape(), {2, 5}, "obb boxes")
H.eq(od.class_ids:to_table(), {1, 2}, "obb classes")
local orec = ort.obb_records_from_rows(od.boxes, od.scores, od.class_ids, od.angles, od.keep_indices)
assert(#orec == 2 and #orec[1].points == 4 and orec[2].row_index == 2)
local dec = assert(ort.create_decoder({task = "detect", prediction_layout = "columns"}))
assert(dec:task() == "detect" and dec:schema().prediction_layout == "columns")
H.eq(dec:decode(yolo, {score_threshold = 0.5}).keep_indices:to_table(), {1, 3}, "decoder")
local cls = ort.create_decoder({task = "classify", classification_mode = "softmax"})
local cr = cls:decode(ort.tensor("float32", {1, 3}, {1, 3, 2}))
assert(cr.class_id == 2 and cr.class_ids:to_table()[2] == 3)
fails("option task must be one of", ort.create_decoder({task = "segment"}))
local dense = ort.tensor("float32", {5, 6}, 0)
dense:set(4, 1, 0.5) dense:set(4, 5, 0.9) dense:set(4, 6, 0.8)
local dd = assert(ort.decode_dense_detection(dense, {strides = {4, 8}, decode_width = 8,
  decode_height = 8, class_start = 6, objectness_index = 5}))
H.eq(dd.labels:to_table(), {1}, "dense labels 1-based")
fails("options decode_width and decode_height are required",
  ort.decode_dense_detection(dense, {strides = {4, 8}}))
local pr = ort.points_to_records(ort.tensor("float32", {1, 6}, {1, 2, 0.5, 3, 4, 0.6}),
  {keypoint_count = 2})
assert(pr[1][2].x == 3 and pr[1][2].y == 4)

-- masks
local masks = ort.tensor("float32", {1, 4, 4}, {0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0})
local mt = ort.threshold_masks(masks, 0.5)
assert(#mt == 1 and mt[1].pixel_count == 4 and mt[1].width == 4 and mt[1].bounds.x == 1)
assert(mt[1].bits:get(2, 2) == 1 and mt[1].bits:get(1, 1) == 0)
H.eq(ort.crop_masks_by_boxes(masks, {{0, 0, 2, 4}}):sum(), 2, "crop masks")
H.eq(ort.resize_masks(masks, 8, 8):shape(), {1, 8, 8}, "resize masks")
assert(ort.mask_iou(mt[1], masks:select(1, 1)) == 1)
H.eq(#ort.mask_to_polygon(mt[1], {epsilon = 0}), 4, "polygon of a square")
local proto = ort.tensor("float32", {1, 1, 2, 2}, 5)
local pm = ort.proto_masks(proto, {{1}}, {{0, 0, 4, 4}}, 4, 4)
assert(#pm == 1 and pm[1].pixel_count == 16)
assert(ort.project_masks == ort.proto_masks)

-- keypoints
local kp = ort.tensor("float32", {1, 6}, {10, 20, 0.5, 30, 40, 0.25})
H.eq(ort.reshape_keypoints(kp, 2):shape(), {1, 2, 3}, "reshape_keypoints")
H.eq(ort.scale_keypoints(kp, info, {keypoint_dim = 3}):to_table(), {0, 40, 0.5, 40, 80, 0.25},
  "scale_keypoints")
H.eq(ort.scale_points(ort.tensor("float32", {1, 2}, {12, 4}), info):to_table(), {4, 8}, "scale_points")
H.eq(ort.clip_keypoints(kp, 25, 25, {keypoint_dim = 3}):to_table(), {10, 20, 0.5, 25, 25, 0.25}, "clip")
H.eq(ort.clip_boxes({{-5, 2, 50, 30}}, 40, 20):to_table(), {0, 2, 40, 20}, "clip_boxes")

-- tracker
local tr = assert(ort.tracker({iou_threshold = 0.3, max_age = 2, min_hits = 1}))
local tracks = tr:update({{box = {0, 0, 10, 10}, score = 0.9, class_id = 1}}, 1.5)
assert(#tracks == 1 and tracks[1].id == 1 and tracks[1].detection_index == 1
  and tracks[1].timestamp == 1.5)
tracks = tr:update({{box = {40, 40, 50, 50}}, {box = {1, 1, 11, 11}}})
assert(tracks[1].id == 1 and tracks[1].detection_index == 2 and tracks[2].id == 2)
assert(#tr:state().tracks == 2)
assert(tr:reset() and #tr:state().tracks == 0)
assert(tr:close())
fails("closed", tr:update({}))

-- text and logits
local logits = ort.tensor("float32", {5, 4}, {0, 5, 0, 0, 0, 5, 0, 0, 5, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 5})
local ctc = ort.ctc_greedy_decode(logits, {charset = "abc"})
assert(ctc.text == "abc", ctc.text)
H.eq(ctc.indices, {2, 3, 4}, "ctc indices 1-based")
assert(ctc.confidence == nil, "no confidence without softmax or probabilities")
local ctc2 = ort.ctc_greedy_decode(logits, {apply_softmax = true, return_probabilities = true,
  blank_index = 4})
H.eq(ctc2.indices, {2, 1, 3}, "blank_index 1-based")
assert(#ctc2.probabilities == 3 and ctc2.confidence > 0.9 and ctc2.probability_confidence > 0.7)
local batch = ort.ctc_greedy_decode(logits:unsqueeze(1), {charset = {"a", "b", "c"}})
assert(#batch == 1 and batch[1].text == "abc")
fails("option charset has 2 entries", ort.ctc_greedy_decode(logits, {charset = "ab"}))
fails("option charset has 2 entries", ort.ctc_greedy_decode(logits, {charset = {"a", "b"}}))
fails("option charset must be a string or a list of strings",
  ort.ctc_greedy_decode(logits, {charset = {"a", {}, "c"}}))
fails("must not contain NUL", ort.ctc_greedy_decode(logits, {charset = {"a", "b\0", "c"}}))
fails("too many arguments (3 given, at most 2)", ort.ctc_greedy_decode(logits, {}, 1))
assert(ort.ctc_greedy_decode(logits, {charset = {"x", "y", "z"}, blank_index = 1}).text == "xyz")
assert(ort.sample_logits(ort.tensor("float32", {3}, {0, 9, 0}), {argmax = true}) == 2)
local rows = ort.sample_logits(ort.tensor("float32", {2, 3}, {9, 0, 0, 0, 0, 9}), {top_k = 1, seed = 1})
H.eq(rows:to_table(), {1, 3}, "sample rows")
fails("option temperature must be > 0.0", ort.sample_logits(logits, {temperature = 0}))

-- trailing nils are fine, extra arguments are not; values shown the Lua way
assert(ort.sigmoid(t, nil))
fails("onnxruntime.sigmoid(): too many arguments (2 given, at most 1)", ort.sigmoid(t, t))
fails("tensor:rank(): too many arguments (1 given, at most 0)", t:rank(1))
fails("argument 1 must be an integer, got a table", t:get({}, 1))
fails("dim must be an integer, got \"x\"", t:slice("x", 1, 1))
fails("width must be a number, got nil", ort.clip_boxes({{0, 0, 1, 1}}))
fails("expected a numeric tensor, got a string tensor", ort.nms(ort.tensor("string", {1, 4}, "a"), {1}))

-- bad self
fails("tensor:topk(): call it on a tensor with ':'", t.topk(5, 1))

print("test_ops.lua: ok")
