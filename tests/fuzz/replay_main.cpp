// Corpus replay: runs a fuzz target's LLVMFuzzerTestOneInput over every file
// of the directories (or files) given, once each. The plain gcc build links
// this instead of libFuzzer, so every checked-in seed, and every regression
// seed of a bug a fuzzer found, is re-checked by `meson test`.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool run_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", p.c_str());
        return false;
    }
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    size_t ran = 0;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg(argv[i]);
        std::error_code ec;
        if (std::filesystem::is_directory(arg, ec)) {
            for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
                if (!entry.is_regular_file()) continue;
                if (!run_file(entry.path())) return 1;
                ++ran;
            }
        } else {
            if (!run_file(arg)) return 1;
            ++ran;
        }
    }
    // An empty corpus would make this test pass without checking anything.
    if (ran == 0) {
        std::fprintf(stderr, "no inputs found in the paths given\n");
        return 1;
    }
    std::printf("replayed %zu inputs, every property held\n", ran);
    return 0;
}
