import json
import subprocess
import sys


def test_toy2d_bench_prints_one_json_line_per_model():
    cmd = [sys.executable, "-m", "igm_lite.bench", "toy2d", "--models", "toy2d-joint-weighted", "--n-gen", "100",
           "--steps", "10", "--clouds", "1", "--noise", "4"]
    r = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["model"] for row in rows] == ["toy2d-joint-weighted", "exact-experts-summed", "exact-product"]
    m = rows[0]
    assert 0 <= m["set_accuracy"] <= 1 and m["clouds"] == 26
    assert m["network_evals_per_cloud"] == 4 * 7  # 6 concepts + the null concept, once per noise sample
    # naive: every set's concepts and the null at every sample: 26 sets, 6 x 2 + 12 x 3 + 8 x 4 = 80 rows
    assert m["naive_network_evals_per_cloud"] == 4 * 80 and m["naive_same_decisions"] == 1.0
    # the sampler alone (exact product) is closer to the truth than summed exact experts
    assert rows[2]["kl_k2"] < rows[1]["kl_k2"]
