// Loads an archive written by `polyphony export` with torch::jit::load alone (nothing of
// Polyphony is linked) and prints its recommendations as CSV: user,rank,item.
// usage: torchscript_loader ARCHIVE K USER...

#include <torch/script.h>

#include <cstdlib>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: torchscript_loader ARCHIVE K USER...\n";
    return 2;
  }
  try {
    torch::jit::Module module = torch::jit::load(argv[1]);
    const int64_t k = std::atoll(argv[2]);
    c10::List<std::string> users;
    for (int i = 3; i < argc; ++i) users.push_back(argv[i]);
    const auto lists = module.run_method("recommend_ids", users, k).toList();
    std::cout << "user,rank,item\n";
    for (size_t u = 0; u < lists.size(); ++u) {
      const auto items = lists.get(u).toList();
      for (size_t j = 0; j < items.size(); ++j)
        std::cout << users.get(u) << ',' << j + 1 << ',' << items.get(j).toStringRef() << '\n';
    }
  } catch (const c10::Error& e) {
    std::cerr << "torchscript_loader: " << e.what_without_backtrace() << '\n';
    return 1;
  }
  return 0;
}
