#!/usr/bin/env bash
# Every run behind docs/results.md's MNIST sections, as run on the 2-core
# development CPU (the full grid: about 10 hours; extras: about 1.5 hours). Each step resumes or skips what is done.
# Usage: bash docs/results/reproduce_cpu.sh [grid|extras|report|all]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
export TF_ENABLE_ONEDNN_OPTS=1  # mixgan sets it too; see general_tools/__init__.py
one_thread() { TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 "$@"; }

grid() {  # mixtures: six models, K = 8 and 16, seeds 0-2, 400 iterations, plus MEGAN under WGAN-GP
  # Runs whose score file is in docs/results/mnist_study_scores are skipped.
  for i in 0 1; do
    one_thread $PY my_tests/my_test_mixtures_study.py --shard $i/2 --study_steps 400 --batch 64 \
      --ks 8,16 --seeds 0,1,2 --variants megan:wasserstein &
  done
  wait
  one_thread $PY my_tests/my_test_megan_collapse.py  # MEGAN's first 200 iterations and three controls
  # MEGAN (WGAN-GP)-8, seeds 0 and 1, continued from the grid's run folders to 1,000 iterations
  mkdir -p Results/megan_wgan_long/runs
  # (without the grid's folder a run starts from iteration 0; a scored one is skipped)
  for s in 0 1; do
    src=Results/mnist_study/runs/megan8_mnist_bundled_wasserstein_lrd1e-04_lrg1e-04_nc5_s$s
    if [ -d "$src" ]; then cp -rn "$src" Results/megan_wgan_long/runs/; fi
    one_thread $PY my_tests/my_test_mixtures_study.py --study_steps 1000 --batch 64 --models= --ks 8 \
      --seeds $s --variants megan:wasserstein --root Results/megan_wgan_long \
      --scores docs/results/megan_wgan_1000_scores &
  done
  wait
}

extras() {
  for i in 0 1; do  # runs whose score file is in docs/results/mmd_mnist_scores are skipped
    one_thread $PY my_tests/my_test_mmd_mnist.py --steps 300 --seeds 0,1,2 --shard $i/2 &
  done
  wait
  for g in 0.3 0.7; do
    one_thread $PY my_tests/my_test_began_mnist.py --gamma $g --steps 4500 \
      --run_dir Results/began_mnist/gamma$g
    one_thread $PY -m deep_learning.evaluate Results/began_mnist/gamma$g \
      --metrics fid,knn,msssim --num 2000 --reference mnist_bundled:test \
      --msssim_pairs 250 --overwrite --out Results/began_mnist/gamma$g/eval/scores.json
  done
  for o in unsupervised k_plus_one split; do
    one_thread $PY my_tests/my_test_gmgan_mnist.py --objective $o --steps 600 \
      --dataset mnist_bundled --run_dir Results/gmgan_mnist/$o
  done
}

report() {
  $PY my_tests/my_test_mixtures_study.py --report
  $PY my_tests/my_test_megan_collapse.py  # reads Results/megan_collapse/*.json, prints the table
  $PY my_tests/my_test_mmd_mnist.py --report
  $PY -m general_tools.tb_scalars Results/began_mnist/gamma0.3/logs \
    Results/began_mnist/gamma0.7/logs --tags began/m_global,began/k \
    --labels "gamma 0.3,gamma 0.7" --smooth 4 --out docs/figures/began_mnist_curves.png
}

case "${1:-all}" in
  grid) grid ;; extras) extras ;; report) report ;;
  all) grid; extras; report ;;
  *) echo "usage: $0 [grid|extras|report|all]" >&2; exit 2 ;;
esac
