-- The desktop host objects: image, screen, file, json, string helpers; images to tensors.
local H = dofile((arg[0]:match("^(.*)[/\\]") or ".") .. "/helpers.lua")
local ort = require("onnxruntime")
local dir = arg[1]

-- image objects
local img = assert(image.new(6, 4))
assert(image.is(img) and not image.is({}) and not image.is("x") and not image.is(nil))
local w, h = img:size()
assert(w == 6 and h == 4 and img:width() == 6 and img:height() == 4)
assert(img:get_color(0, 0) == 0x000000, "image.new is opaque black")
assert(img:set_color(2, 1, 0xff8000))
assert(img:get_color(2, 1) == 0xff8000)
local r, g, b, a = img:get_rgba(2, 1)
assert(r == 255 and g == 128 and b == 0 and a == 255)
H.fails("pixel (6, 0) is outside the 6x4 image", img:get_color(6, 0))
H.fails("color must be an integer 0xRRGGBB", img:set_color(0, 0, "red"))
assert(tostring(img):find("image (6x4", 1, true))

local png = img:png_data()
assert(png:sub(2, 4) == "PNG")
local back = assert(image.load_data(png))
assert(back:get_color(2, 1) == 0xff8000, "PNG round trip")
assert(img:jpeg_data(80):sub(1, 3) == "\xff\xd8\xff")
H.fails("jpeg quality must be an integer 1..100", img:jpeg_data(0))
local path = dir .. "/host_image.png"
assert(img:save_to_png_file(path))
assert(file.exists(path))
assert(image.load_file(path):get_color(2, 1) == 0xff8000)
assert(img:save_to_jpeg_file(dir .. "/host_image.jpg"))
H.fails("no such image file", image.load_file(dir .. "/missing.png"))
H.fails("are not an image Pillow can decode", image.load_data("not an image"))
local part = assert(img:crop(2, 1, 4, 3))
assert(part:width() == 2 and part:get_color(0, 0) == 0xff8000)
local copy = img:copy()
copy:set_color(2, 1, 0x0000ff)
assert(img:get_color(2, 1) == 0xff8000, "copy is a copy")

-- images to tensors and back
local x, info = assert(ort.tensor_from_image(img, {width = 12, height = 12,
  resize_mode = "letterbox", interpolation = "nearest"}))
H.eq(x:shape(), {1, 3, 12, 12}, "letterboxed tensor")
assert(info.resized_height == 8 and info.pad_top == 2 and info.scale_x == 2)
assert(info.layout == "nchw" and info.resize_mode == "letterbox" and info.src_width == 6)
assert(x:get(1, 1, 1 + 2 + 2, 1 + 4) == 1, "the orange pixel's red channel")
local same = ort.tensor_from_image(path, {width = 12, height = 12, resize_mode = "letterbox",
  interpolation = "nearest"})
H.eq(same:to_table(), x:to_table(), "from a path")
local same2 = ort.tensor_from_image(png, {width = 12, height = 12, resize_mode = "letterbox",
  interpolation = "nearest"})
H.eq(same2:to_table(), x:to_table(), "from image data")
local batch, infos = assert(ort.tensor_from_images({img, back, path, png}, {width = 4, height = 4}))
H.eq(batch:shape(), {4, 3, 4, 4}, "batch of an image, a copy, a path and image data")
assert(#infos == 4 and infos[2].src_height == 4)
H.fails("expected a non-empty list of images", ort.tensor_from_images({}))
local u8 = ort.tensor_from_image(img, {data_type = "uint8", layout = "hwc", crop = {x = 2, y = 1,
  width = 1, height = 1}})
H.eq(u8:to_table(), {255, 128, 0}, "crop")
H.fails("onnxruntime.tensor_from_image(): option crop x=5, y=0, width=4, height=1 does not fit",
  ort.tensor_from_image(img, {crop = {x = 5, y = 0, width = 4, height = 1}}))
H.fails("unknown option \"widht\" (did you mean width?)", ort.tensor_from_image(img, {widht = 3}))
local out = assert(ort.image_from_tensor((ort.tensor_from_image(img))))
assert(image.is(out) and out:get_color(2, 1) == 0xff8000, "image_from_tensor round trip")
local gray = ort.image_from_tensor(ort.tensor("float32", {1, 1, 2, 2}, 1.0))
assert(gray:get_color(0, 0) == 0xffffff)
local second = ort.image_from_tensor(ort.concat({ort.tensor("float32", {1, 3, 2, 2}, 0),
  ort.tensor("float32", {1, 3, 2, 2}, 1)}), {batch_index = 2})
assert(second:get_color(1, 1) == 0xffffff, "batch_index is 1-based")

-- screen: none unless the host was given one
H.fails("ortsession lua --screen", screen.image())

-- file
assert(file.writes(dir .. "/note.txt", "a,b,,c"))
assert(file.reads(dir .. "/note.txt") == "a,b,,c")
assert(file.appends(dir .. "/note.txt", "!"))
assert(file.reads(dir .. "/note.txt") == "a,b,,c!")
assert(file.reads(dir .. "/nope.txt") == nil and not file.exists(dir .. "/nope.txt"))

-- json
local doc = json.decode('{"name": "x", "list": [1, 2.5, true], "nested": {"k": null}}')
assert(doc.name == "x" and doc.list[2] == 2.5 and doc.list[3] == true)
assert(json.decode(json.encode({a = {1, 2}})).a[2] == 2)
assert(json.encode({1, 2, 3}) == "[1, 2, 3]")
H.fails("json.decode(): invalid JSON", json.decode("{oops"))

-- string helpers
H.eq(string.split("a,b,,c", ","), {"a", "b", "", "c"}, "split")
H.eq(("x--y"):split("--"), {"x", "y"}, "split method")
H.eq(string.split("héllo", ""), {"h", "é", "l", "l", "o"}, "split characters")
assert(string.base64_encode("hello") == "aGVsbG8=")
assert(string.base64_decode("aGVsbG8=") == "hello" and string.base64_decode("aGVsbG8") == "hello")
assert(string.base64_decode(string.base64_encode(png)) == png)

print("test_ops_host.lua: ok")
