#pragma once
// The polyphony subcommands. Each parses its own options (argv[0] is the subcommand name) and
// returns the process exit status; errors a user can act on are thrown as polyphony::Error.

namespace polyphony::cli {

int train(int argc, char** argv);
int datagen(int argc, char** argv);
int eval(int argc, char** argv);
int recommend(int argc, char** argv);
int export_model(int argc, char** argv);
int analyze(int argc, char** argv);
int bench(int argc, char** argv);
int sweep(int argc, char** argv);
int tune(int argc, char** argv);
int report(int argc, char** argv);

}  // namespace polyphony::cli
