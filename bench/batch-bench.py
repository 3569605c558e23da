#!/usr/bin/env python3
"""Batch-mode figures against a running Halyard (standard library only).

  bench/batch-bench.py --url URL throughput --lines 200 --max-tokens 32
      uploads a batch of LINES completion lines (fixed length: ignore_eos), creates it, polls it
      to the end and prints lines per minute (wall time from create to completed) as JSON
  bench/batch-bench.py --url URL start --lines 5000 --max-tokens 64
      uploads and creates a large batch and prints its id (load for ./halyard loadgen)
  bench/batch-bench.py --url URL cancel BATCH_ID
      cancels it and prints its request counts

docs/batch.md quotes the figures and the exact commands.
"""
import argparse
import json
import os
import time
import urllib.request
import uuid

MODEL = "halyard-shakespeare-moe"
SPEAKERS = ["KING", "ROMEO", "JULIET", "HAMLET", "MENENIUS", "First Citizen", "QUEEN MARGARET", "GLOUCESTER"]


def call(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def upload_and_create(base, lines, max_tokens, model):
    jsonl = "".join(json.dumps({"custom_id": f"r{i}", "method": "POST", "url": "/v1/completions",
                                "body": {"model": model, "prompt": f"{SPEAKERS[i % len(SPEAKERS)]} {i}:\n",
                                         "max_tokens": max_tokens, "ignore_eos": True, "temperature": 0}}) + "\n"
                    for i in range(lines))
    boundary = "----bench" + uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bench.jsonl\"\r\n"
            f"Content-Type: application/jsonl\r\n\r\n{jsonl}\r\n--{boundary}--\r\n").encode()
    f = call(base + "/v1/files", "POST", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    b = call(base + "/v1/batches", "POST", json.dumps({"input_file_id": f["id"], "endpoint": "/v1/completions",
                                                        "completion_window": "24h"}).encode(),
             {"Content-Type": "application/json"})
    return b["id"]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", default="http://127.0.0.1:8181")
    p.add_argument("--model", default=MODEL)
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("throughput", "start"):
        s = sub.add_parser(name)
        s.add_argument("--lines", type=int, default=200)
        s.add_argument("--max-tokens", type=int, default=32)
    c = sub.add_parser("cancel")
    c.add_argument("batch")
    a = p.parse_args()
    base = a.url.rstrip("/")
    if a.cmd == "start":
        print(upload_and_create(base, a.lines, a.max_tokens, a.model))
    elif a.cmd == "cancel":
        b = call(base + f"/v1/batches/{a.batch}/cancel", "POST", b"")
        print(json.dumps({"id": b["id"], "status": b["status"], "request_counts": b["request_counts"]}))
    else:
        t0 = time.monotonic()
        bid = upload_and_create(base, a.lines, a.max_tokens, a.model)
        while True:
            b = call(base + f"/v1/batches/{bid}")
            if b["status"] in ("completed", "failed", "expired", "cancelled"):
                break
            time.sleep(0.2)
        wall = time.monotonic() - t0
        print(json.dumps({"batch": bid, "status": b["status"], "lines": a.lines, "max_tokens": a.max_tokens,
                          "request_counts": b["request_counts"], "wall_s": round(wall, 1),
                          "lines_per_minute": round(a.lines * 60 / wall, 1),
                          "output_tokens_per_s": round(a.lines * a.max_tokens / wall, 1),
                          "load_average": os.getloadavg()}))


if __name__ == "__main__":
    main()
