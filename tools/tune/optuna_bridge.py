# Optuna's side of `polyphony tune` (tools/tune/optuna_bridge.h): one request per line on stdin,
# one JSON reply per line on stdout. The study lives in Optuna's own storage (a journal file or a
# database URL), so every worker, on this machine or on others, asks the same sampler, and
# Optuna's tools (optuna-dashboard, optuna.load_study) read it as any other study.
#
# Requests: {"op": "open", ...the study...}, {"op": "ask"}, {"op": "running"},
# {"op": "report", "trial": N, "step": S, "value": V}, {"op": "tell", "trial": N,
# "values": [...]} or {"op": "tell", "trial": N, "state": "pruned" | "fail"}.
# A reply is {"error": TEXT} when a request cannot be served.
import json
import sys


def reply(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


try:
    import optuna
    from optuna.trial import TrialState
except ImportError as error:
    reply({"error": "cannot import optuna in %s (%s): install it with `%s -m pip install optuna`,"
           " or name another Python with --python" % (sys.executable, error, sys.executable)})
    sys.exit(3)


def storage_of(text):
    # A URL is a database (sqlite:///study.db, postgresql://...); anything else a journal file,
    # which needs no server and suits a shared filesystem.
    if "://" in text:
        return optuna.storages.RDBStorage(text)
    from optuna.storages import JournalStorage
    try:
        from optuna.storages.journal import JournalFileBackend
    except ImportError:  # Optuna 3
        from optuna.storages import JournalFileStorage as JournalFileBackend
    return JournalStorage(JournalFileBackend(text))


def sampler_of(name, seed):
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def distribution_of(dimension):
    kind = dimension["kind"]
    if kind == "categorical":
        return optuna.distributions.CategoricalDistribution(dimension["choices"])
    if kind == "int":
        return optuna.distributions.IntDistribution(
            dimension["low"], dimension["high"], log=dimension["log"], step=dimension["step"])
    return optuna.distributions.FloatDistribution(
        dimension["low"], dimension["high"], log=dimension["log"], step=dimension.get("step"))


class Bridge:
    def __init__(self):
        self.study = None
        self.trials = {}  # number -> optuna.Trial of the trials this worker reports to

    def open(self, request):
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        pruner = optuna.pruners.NopPruner()
        if request["pruner"] == "median":
            # Steps are epochs, numbered from 1; Optuna prunes no step below n_warmup_steps.
            pruner = optuna.pruners.MedianPruner(n_startup_trials=request["startup_trials"],
                                                 n_warmup_steps=request["warmup_epochs"] + 1)
        self.study = optuna.create_study(
            storage=storage_of(request["storage"]), study_name=request["study"],
            directions=request["directions"], load_if_exists=True, pruner=pruner,
            sampler=sampler_of(request["sampler"], request["seed"]))
        if self.study.directions != [
                optuna.study.StudyDirection.MAXIMIZE if d == "maximize"
                else optuna.study.StudyDirection.MINIMIZE for d in request["directions"]]:
            return {"error": "study %s in %s has other objectives (%s) than the tune file"
                    % (request["study"], request["storage"],
                       ", ".join(d.name.lower() for d in self.study.directions))}
        self.space = {d["key"]: distribution_of(d) for d in request["space"]}
        self.budget = request["trials"]
        for key, value in request.get("attributes", {}).items():
            self.study.set_user_attr(key, value)
        return {"ok": True, "optuna": optuna.__version__}

    def ask(self, request):
        count = len(self.study.get_trials(deepcopy=False))
        if count >= self.budget:
            return {"trial": None, "trials": count}
        trial = self.study.ask(self.space)
        self.trials[trial.number] = trial
        return {"trial": trial.number, "params": trial.params}

    def running(self, request):
        running = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        return {"trials": [{"trial": t.number, "params": t.params,
                            "steps": sorted(t.intermediate_values)} for t in running]}

    def trial(self, number):
        if number not in self.trials:
            # A trial another worker started and left (killed, or its node lost): adopted.
            frozen = self.study.get_trials(deepcopy=False)[number]
            self.trials[number] = optuna.Trial(self.study, frozen._trial_id)
        return self.trials[number]

    def report(self, request):
        trial = self.trial(request["trial"])
        trial.report(request["value"], request["step"])
        return {"prune": bool(trial.should_prune())}

    def tell(self, request):
        number = request["trial"]
        if "values" in request:
            self.study.tell(number, request["values"])
        else:
            state = TrialState.PRUNED if request["state"] == "pruned" else TrialState.FAIL
            self.study.tell(number, state=state)
        self.trials.pop(number, None)
        return {"ok": True}


def main():
    bridge = Bridge()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            answer = getattr(bridge, request["op"])(request)
        except Exception as error:  # the worker shows it, naming the request
            answer = {"error": "%s: %s" % (type(error).__name__, error)}
        reply(answer)


main()
