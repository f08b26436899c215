#pragma once
// A tune worker: asks Optuna for a trial, trains it (one `polyphony train` per seed, in turn),
// reports the first seed's validation curve so that Optuna can prune it, tells the objective
// values, and asks again, until the study holds its number of trials. Any number of workers, on
// one machine (`tune --jobs N`) or on many (Slurm), share one study through Optuna's storage.
//
// A trial left running by a worker that died (killed, its node lost, a Slurm task cancelled)
// is adopted by the next worker that starts: its runs resume from their checkpoints. A worker
// holds TUNE_DIR/trials/N/claim locked while it works on trial N, which is how the others know
// the trial is not left; it asks for a trial and takes its claim under TUNE_DIR/ask.lock, so a
// trial whose worker died between the two is not taken for one still being started.

#include <cstdint>
#include <string>

#include "tools/tune/tune_study.h"

namespace polyphony::cli {

struct TuneWorkerOptions {
  uint64_t worker = 0;  // its number: the sampler's seed offset and its logs' name
  std::string python;   // empty: bridge_python's choice
  int threads = 0;      // --threads of every run; 0: the run's own
};

// Runs trials until the study has its number; returns 0, 1 when a trial failed, or 75 when
// stopped by SIGINT/SIGTERM (the running trial's run keeps a checkpoint; the next worker
// adopts it).
int run_tune_worker(const TuneStudy& study, const TuneWorkerOptions& options);

}  // namespace polyphony::cli
