#!/usr/bin/env python3
"""OpenCV StereoSGBM as the peer of `npm run bench -- stereo`.

Reads a JSON job on stdin: {"pairs": [{"name", "left", "right", "maxDisp"}], "modes": [...], "threads": [...],
"repeats": R, "out": DIR}. For each pair, mode and thread count it times StereoSGBM.compute (median of R runs after
one warm-up), writes the disparity of the first thread count as DIR/NAME-MODE.png (16-bit, disparity x 16,
0 = invalid) and prints one JSON object. Parameters follow the notes' measured OpenCV rows: blockSize 3,
P1 = 8*bs^2, P2 = 32*bs^2, disp12MaxDiff 1, preFilterCap 63, uniquenessRatio 10, speckle 100 / 32.
Images are converted to grey with cvtColor, the same weights Lithe uses.
"""
import json
import sys
import time

import cv2
import numpy as np

MODES = {
    "sgbm": cv2.STEREO_SGBM_MODE_SGBM,  # 5 directions, single pass
    "hh": cv2.STEREO_SGBM_MODE_HH,  # 8 directions, full volume
    "hh4": cv2.STEREO_SGBM_MODE_HH4,  # 4 directions
    "3way": cv2.STEREO_SGBM_MODE_SGBM_3WAY,
}


def grey(path):
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise SystemExit(f"{path}: OpenCV cannot read it")
    return cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)


def main():
    job = json.load(sys.stdin)
    bs = 3
    rows = []
    for pair in job["pairs"]:
        left, right = grey(pair["left"]), grey(pair["right"])
        for mode in job["modes"]:
            sgbm = cv2.StereoSGBM_create(minDisparity=0, numDisparities=pair["maxDisp"], blockSize=bs, P1=8 * bs * bs,
                                         P2=32 * bs * bs, disp12MaxDiff=1, preFilterCap=63, uniquenessRatio=10,
                                         speckleWindowSize=100, speckleRange=32, mode=MODES[mode])
            for i, threads in enumerate(job["threads"]):
                cv2.setNumThreads(threads)
                disp = sgbm.compute(left, right)
                times = []
                for _ in range(job["repeats"]):
                    t0 = time.perf_counter()
                    disp = sgbm.compute(left, right)
                    times.append((time.perf_counter() - t0) * 1000)
                if i == 0:
                    out = np.where(disp < 0, 0, disp).astype(np.uint16)
                    cv2.imwrite(f"{job['out']}/{pair['name']}-{mode}.png", out)
                rows.append({"pair": pair["name"], "mode": mode, "threads": threads, "ms": float(np.median(times))})
    print(json.dumps({"opencv": cv2.__version__, "rows": rows}))


if __name__ == "__main__":
    main()
