#!/bin/bash
# One Chokepoint sweep as a Slurm job array: task I of N runs shard I/N of the plan into the
# shared sweep folder. Submit with: sbatch --array=0-15 examples/slurm_sweep.sh
#SBATCH --job-name=chokepoint-sweep
#SBATCH --cpus-per-task=1
#SBATCH --mem=1G
#SBATCH --time=02:00:00
set -euo pipefail
N=${SLURM_ARRAY_TASK_COUNT:?submit as a job array}
I=${SLURM_ARRAY_TASK_ID:?submit as a job array}
chokepoint sweep models/baseline.ron models/april_2025.ron --seeds 500 \
    --grid policies.controls.cn_2025_04_rare_earths.approval.civil=0.25,0.6 \
    --jobs 1 --shard "$I/$N" --resume --out "${SWEEP_DIR:-$HOME/chokepoint/sweep}" --quiet
