"""Front-door benchmarks on the real services (PostgreSQL + MinIO on loopback), auth on.

    python bench/frontdoor.py [--rows 1000000] [--seconds 20] [--subscribers 1000] [--upload-gib 10]

1. status API, --rows jobs stored, a tenant user's access token (scope checks on):
   - GET /v1/jobs/{id} at an offered 200 requests/s (open loop: latency is measured from each
     request's scheduled start, so a slow server cannot hide its queue), p50/p99;
   - peak requests/s with 100 concurrent connections (wrk, from Debian), one job and a page.
2. --subscribers SSE clients on /v1/events held open on one API process: its RSS before and
   after, and the peak requests/s of plain requests with and without them.
3. upload of a --upload-gib file through presigned parts (`pravah upload`) against boto3's
   transfer manager (what `aws s3 cp` uses) to the same MinIO, same run; client peak RSS.
Every load generator shares the machine's cores with the API and PostgreSQL.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "scripts"))


PRAVAH = Path(sys.executable).parent / "pravah"
PASSWORD = "bench password 1"
RUN = f"{random.randrange(16**6):06x}"
IN = f"fd-bench-{RUN}"
WRK_LUA = """
local ids = {}
for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
math.randomseed(os.time())
request = function()
  return wrk.format("GET", os.getenv("PREFIX") .. ids[math.random(#ids)] .. os.getenv("SUFFIX"), {["Authorization"] = "Bearer " .. os.getenv("TOKEN")})
end
"""
