#!/usr/bin/env bash
# Every run behind docs/results.md's MNIST sections, as run on the 2-core
# development CPU (the full grid: about 10 hours; extras: about 1.5 hours).
# Each step resumes or skips what is done; the study scripts write their
# scores, tables and figures into docs/ (--publish).
# Usage: bash docs/results/reproduce_cpu.sh [grid|extras|report|all]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
export TF_ENABLE_ONEDNN_OPTS=1  # mixgan sets it too; see general_tools/__init__.py
one_thread() { TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1 "$@"; }

grid() {  # mixtures: six models, K = 8 and 16, seeds 0-2, 400 iterations, plus MEGAN under WGAN-GP
  # Runs whose score file in docs/results/mnist_study_scores holds the same settings are skipped.
  for i in 0 1; do
    one_thread $PY my_tests/my_test_mixtures_study.py --publish --shard $i/2 --steps 400 --batch_size 64 \
      --ks 8,16 --seed 0,1,2 --variants megan:wasserstein &
  done
  wait
  one_thread $PY my_tests/my_test_megan_collapse.py --publish  # MEGAN's first 200 iterations and three controls
  # MEGAN (WGAN-GP)-8, seeds 0 and 1, continued from the grid's run folders to 1,000 iterations
  mkdir -p Results/megan_wgan_long/runs
  # (without the grid's folder a run starts from iteration 0; a scored one is skipped)
  for s in 0 1; do
    src=Results/mnist_study/runs/megan8_mnist_bundled_wasserstein_lrd1e-04_lrg1e-04_nc5_b64_s$s
    if [ -d "$src" ]; then cp -rn "$src" Results/megan_wgan_long/runs/; fi
    one_thread $PY my_tests/my_test_mixtures_study.py --steps 1000 --batch_size 64 --models= --ks 8 \
      --seed $s --variants megan:wasserstein --out Results/megan_wgan_long &
  done
  wait
  mkdir -p docs/results/megan_wgan_1000_scores
  cp -n Results/megan_wgan_long/scores/*.json docs/results/megan_wgan_1000_scores/
}

extras() {
  for i in 0 1; do  # runs whose score file in docs/results/mmd_mnist_scores holds the same settings are skipped
    one_thread $PY my_tests/my_test_mmd_mnist.py --publish --steps 300 --seed 0,1,2 --shard $i/2 &
  done
  wait
  for g in 0.3 0.7; do
    one_thread $PY my_tests/my_test_began_mnist.py --gamma $g --steps 4500 --out Results/began_mnist
    run=$(ls -d Results/began_mnist/began-g${g}_*)
    [ -e Results/began_mnist/gamma$g.json ] || one_thread $PY -m deep_learning.evaluate "$run" \
      --metrics fid,knn,msssim --num 2000 --reference mnist_bundled:test \
      --msssim_pairs 250 --out Results/began_mnist/gamma$g.json
  done
  for o in unsupervised k_plus_one split; do
    one_thread $PY my_tests/my_test_gmgan_mnist.py --objective $o --steps 600 \
      --dataset mnist_bundled --out Results/gmgan_mnist
  done
}

report() {
  $PY my_tests/my_test_mixtures_study.py --report --publish
  $PY my_tests/my_test_megan_collapse.py --publish  # reads docs/results/megan_collapse/*.json, prints the table
  $PY my_tests/my_test_mmd_mnist.py --report --publish
  $PY -m general_tools.tb_scalars Results/began_mnist/began-g0.3_*/logs \
    Results/began_mnist/began-g0.7_*/logs --tags began/m_global,began/k \
    --labels "gamma 0.3,gamma 0.7" --smooth 4 --out docs/figures/began_mnist_curves.png --overwrite
}

case "${1:-all}" in
  grid) grid ;; extras) extras ;; report) report ;;
  all) grid; extras; report ;;
  *) echo "usage: $0 [grid|extras|report|all]" >&2; exit 2 ;;
esac
