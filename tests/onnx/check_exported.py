#!/usr/bin/env python3
"""Runs onnx.checker (full check, with shape inference) on every .onnx file in a folder.

The export tests write each file they make into the folder named by STRIATE_ONNX_EXPORT_DIR when it is set; .ci/run
sets it and calls this script afterwards. Exits non-zero when a file is refused or the folder holds no file.

Usage: check_exported.py FOLDER   (needs python3-onnx (Debian) or pip onnx)
"""
import pathlib
import sys

import onnx


def main(folder):
    files = sorted(pathlib.Path(folder).glob("*.onnx"))
    if not files:
        print(f"check_exported: no .onnx files in {folder}")
        return 1
    failed = 0
    for path in files:
        try:
            model = onnx.load(str(path))
            onnx.checker.check_model(model, full_check=True)
            opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
            print(f"check_exported: {path.name}: accepted (IR {model.ir_version}, opset {opset}, {len(model.graph.node)} nodes)")
        except Exception as e:  # the checker raises several exception types; report each file's
            failed += 1
            print(f"check_exported: {path.name}: REFUSED: {type(e).__name__}: {e}")
    print(f"check_exported: onnx {onnx.__version__} accepted {len(files) - failed} of {len(files)} files")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
