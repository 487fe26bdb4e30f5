// The dataset index: qflux's folder layout (every accepted folder name, several controls,
// masks, prompts in either folder), CSV and JSON Lines manifests, selected controls, several
// dataset paths, and one test per error, each naming the file at fault. Images are empty
// files: indexing only looks at names.

#include <functional>

#include "flux_kontext/data/dataset_index.hpp"
#include "omni/error.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using flux_kontext::DatasetIndexOptions;
using flux_kontext::DatasetSample;
using flux_kontext::index_dataset;

namespace {

using omni::test::error_of;

std::vector<DatasetSample> index_one(const fs::path& path,
                                     const DatasetIndexOptions& options = {}) {
  return index_dataset({path.string()}, options);
}

std::string index_error(const fs::path& path, const DatasetIndexOptions& options = {}) {
  return error_of([&] { index_one(path, options); });
}

// A folder sample: target, control 0, `extra` further controls, a prompt next to the target.
void write_sample(const omni::test::TempDir& dir, const std::string& stem, int extra = 0,
                  const std::string& prompt = "a prompt") {
  dir.write("training_images/" + stem + ".png", "");
  dir.write("training_images/" + stem + ".txt", prompt);
  dir.write("control_images/" + stem + ".jpg", "");
  for (int i = 1; i <= extra; ++i) {
    dir.write("control_images/" + stem + "_control_" + std::to_string(i) + ".png", "");
  }
}

}  // namespace

TEST_SUITE("dataset") {
  TEST_CASE("a folder with several controls, masks and prompts in either folder") {
    omni::test::TempDir dir;
    const fs::path root = dir.path();
    write_sample(dir, "b_sample", 2, "turn it blue\n\n");
    write_sample(dir, "a_sample", 0, "  keep leading space, drop trailing \t\r\n");
    dir.write("training_images/b_sample_mask.png", "");
    // Prompt only in the control folder, mask only in the control folder.
    dir.write("training_images/c.JPEG", "");
    dir.write("control_images/c.png", "");
    dir.write("control_images/c.txt", "中文 prompt ✓");
    dir.write("control_images/c_mask.png", "");
    // Not part of any sample.
    dir.write("training_images/notes.md", "");
    dir.write("control_images/.DS_Store", "");
    dir.write("training_images/orphan.txt", "a prompt without an image");

    const std::vector<DatasetSample> samples = index_one(root);
    REQUIRE(samples.size() == 3);
    CHECK(samples[0].id == "a_sample");  // sorted by stem
    CHECK(samples[0].target == root / "training_images/a_sample.png");
    CHECK(samples[0].controls == std::vector<fs::path>{root / "control_images/a_sample.jpg"});
    CHECK(samples[0].prompt == "  keep leading space, drop trailing");
    CHECK_FALSE(samples[0].mask.has_value());

    CHECK(samples[1].id == "b_sample");
    CHECK(samples[1].controls ==
          std::vector<fs::path>{root / "control_images/b_sample.jpg",
                                root / "control_images/b_sample_control_1.png",
                                root / "control_images/b_sample_control_2.png"});
    CHECK(samples[1].prompt == "turn it blue");
    CHECK(samples[1].mask == root / "training_images/b_sample_mask.png");

    CHECK(samples[2].id == "c");
    CHECK(samples[2].target == root / "training_images/c.JPEG");
    CHECK(samples[2].prompt == "中文 prompt ✓");
    CHECK(samples[2].mask == root / "control_images/c_mask.png");
  }

  TEST_CASE("the target folder's prompt and mask win over the control folder's") {
    omni::test::TempDir dir;
    write_sample(dir, "s", 0, "from the target folder");
    dir.write("control_images/s.txt", "from the control folder");
    dir.write("training_images/s_mask.png", "");
    dir.write("control_images/s_mask.png", "");
    const std::vector<DatasetSample> samples = index_one(dir.path());
    REQUIRE(samples.size() == 1);
    CHECK(samples[0].prompt == "from the target folder");
    CHECK(samples[0].mask == dir.path() / "training_images/s_mask.png");
  }

  TEST_CASE("every accepted target and control folder name") {
    for (const char* target : {"training_images", "images", "target_images", "target", "targets"}) {
      for (const char* control : {"control_images", "control", "condition_images", "controls"}) {
        CAPTURE(target);
        CAPTURE(control);
        omni::test::TempDir dir;
        dir.write(std::string(target) + "/x.png", "");
        dir.write(std::string(target) + "/x.txt", "p");
        dir.write(std::string(control) + "/x.png", "");
        const std::vector<DatasetSample> samples = index_one(dir.path());
        REQUIRE(samples.size() == 1);
        CHECK(samples[0].target == dir.path() / target / "x.png");
        CHECK(samples[0].controls[0] == dir.path() / control / "x.png");
      }
    }
  }

  TEST_CASE("a prediction set without targets") {
    omni::test::TempDir dir;
    dir.write("control/p.png", "");
    dir.write("control/p_control_1.png", "");
    dir.write("control/p.txt", "edit it");
    DatasetIndexOptions options;
    options.require_target = false;
    const std::vector<DatasetSample> samples = index_one(dir.path(), options);
    REQUIRE(samples.size() == 1);
    CHECK(samples[0].target.empty());
    CHECK(samples[0].controls.size() == 2);
    CHECK(samples[0].prompt == "edit it");
    // Training needs the target folder.
    CHECK_HAS(index_error(dir.path()), "a target folder (one of training_images, images");
  }

  TEST_CASE("selected_control_indexes picks extra controls, 1-based, after control 0") {
    omni::test::TempDir dir;
    write_sample(dir, "s", 3);
    DatasetIndexOptions options;
    options.selected_control_indexes = {3, 1};
    const std::vector<DatasetSample> samples = index_one(dir.path(), options);
    REQUIRE(samples.size() == 1);
    CHECK(samples[0].controls ==
          std::vector<fs::path>{dir.path() / "control_images/s.jpg",
                                dir.path() / "control_images/s_control_3.png",
                                dir.path() / "control_images/s_control_1.png"});

    write_sample(dir, "t", 1);
    std::string message = index_error(dir.path(), options);
    CHECK_HAS(message, "dataset sample 't' (control 0: '" +
                           (dir.path() / "control_images/t.jpg").string() +
                           "') has 1 extra control image(s)");
    CHECK_HAS(message, "asks for 3");
    options.selected_control_indexes = {0};
    CHECK_HAS(index_error(dir.path(), options), "control 0 is always used");
  }

  TEST_CASE("a CSV manifest with quoted fields and relative and absolute paths") {
    omni::test::TempDir dir;
    dir.write("data/t1.png", "");
    dir.write("data/c1.png", "");
    dir.write("data/c1, extra.png", "");
    dir.write("data/m1.png", "");
    const fs::path absolute = dir.write("elsewhere/t2.jpg", "");
    dir.write("data/c2.jpg", "");
    const fs::path manifest =
        dir.write("data/train.csv",
                  "\xef\xbb\xbfpath_target,path_control,path_control_1,prompt,path_mask,notes\r\n"
                  "t1.png,c1.png,\"c1, extra.png\",\"say \"\"hi\"\", then\nwave\",m1.png,x\r\n"
                  "\r\n"
                  "" + absolute.string() +
                      ",c2.jpg,,plain prompt,,\"ignored, column\"\n");
    DatasetIndexOptions anywhere;  // t2.jpg is outside the manifest's folder
    anywhere.allow_paths_outside = true;
    const std::vector<DatasetSample> samples = index_one(manifest, anywhere);
    REQUIRE(samples.size() == 2);
    CHECK(samples[0].id == "train.csv:2");
    CHECK(samples[0].target == dir.path() / "data/t1.png");
    CHECK(samples[0].controls ==
          std::vector<fs::path>{dir.path() / "data/c1.png", dir.path() / "data/c1, extra.png"});
    CHECK(samples[0].prompt == "say \"hi\", then\nwave");
    CHECK(samples[0].mask == dir.path() / "data/m1.png");
    CHECK(samples[1].id == "train.csv:5");  // the quoted line break moved it down
    CHECK(samples[1].target == absolute);
    CHECK(samples[1].controls == std::vector<fs::path>{dir.path() / "data/c2.jpg"});
    CHECK(samples[1].prompt == "plain prompt");
    CHECK_FALSE(samples[1].mask.has_value());
  }

  TEST_CASE("a manifest path outside its folder is refused unless allowed") {
    omni::test::TempDir dir;
    dir.write("data/t.png", "");
    dir.write("data/c.png", "");
    dir.write("data/sub/inside.png", "");
    const fs::path outside = dir.write("secret/t.png", "");
    fs::create_symlink(outside, dir.path() / "data" / "link.png");
    const auto manifest_with = [&](const std::string& target) {
      return dir.write("data/train.csv", "path_target,path_control,prompt\n" + target + ",c.png,p\n");
    };
    DatasetIndexOptions anywhere;
    anywhere.allow_paths_outside = true;
    for (const std::string target : {std::string("../secret/t.png"), outside.string(),
                                     std::string("link.png")}) {
      CAPTURE(target);
      const fs::path manifest = manifest_with(target);
      CHECK_HAS(index_error(manifest), "column 'path_target': '" + target +
                                           "' is outside the manifest's folder");
      CHECK_HAS(index_error(manifest), "allow_paths_outside_dataset");
      CHECK(index_one(manifest, anywhere).size() == 1);
    }
    // Inside, however written: relative, with a harmless '..', or absolute.
    for (const std::string target : {std::string("sub/inside.png"), std::string("sub/../t.png"),
                                     (dir.path() / "data" / "t.png").string()}) {
      CAPTURE(target);
      CHECK(index_one(manifest_with(target)).size() == 1);
    }
  }

  TEST_CASE("a CSV manifest with the short column names") {
    omni::test::TempDir dir;
    dir.write("t.png", "");
    dir.write("c.png", "");
    dir.write("c1.png", "");
    const fs::path manifest = dir.write("m.csv",
                                        "target, control, control_1, prompt\n"
                                        "t.png,c.png,c1.png,p\n");
    const std::vector<DatasetSample> samples = index_one(manifest);
    REQUIRE(samples.size() == 1);
    CHECK(samples[0].controls.size() == 2);
  }

  TEST_CASE("a JSON Lines manifest, with controls as keys or as a list") {
    omni::test::TempDir dir;
    dir.write("t.png", "");
    dir.write("c.png", "");
    dir.write("c1.png", "");
    dir.write("m.png", "");
    const fs::path manifest = dir.write(
        "set.jsonl",
        "{\"path_target\": \"t.png\", \"path_control\": \"c.png\", \"path_control_1\": \"c1.png\","
        " \"prompt\": \"first\\n\", \"path_mask\": \"m.png\", \"extra\": 3}\n"
        "\n"
        "{\"target\": \"t.png\", \"control\": [\"c1.png\", \"c.png\"], \"prompt\": \"second\","
        " \"mask\": null}\n");
    const std::vector<DatasetSample> samples = index_one(manifest);
    REQUIRE(samples.size() == 2);
    CHECK(samples[0].id == "set.jsonl:1");
    CHECK(samples[0].controls ==
          std::vector<fs::path>{dir.path() / "c.png", dir.path() / "c1.png"});
    CHECK(samples[0].prompt == "first");
    CHECK(samples[0].mask == dir.path() / "m.png");
    CHECK(samples[1].id == "set.jsonl:3");
    CHECK(samples[1].controls ==
          std::vector<fs::path>{dir.path() / "c1.png", dir.path() / "c.png"});
    CHECK_FALSE(samples[1].mask.has_value());
  }

  TEST_CASE("several dataset paths are concatenated in order") {
    omni::test::TempDir first;
    write_sample(first, "z");
    omni::test::TempDir second;
    write_sample(second, "a");
    write_sample(second, "b");
    second.write("t.png", "");
    second.write("c.png", "");
    const fs::path manifest = second.write("m.jsonl",
                                           "{\"target\":\"t.png\",\"control\":\"c.png\","
                                           "\"prompt\":\"p\"}\n");
    const std::vector<DatasetSample> samples =
        index_dataset({first.path().string(), second.path().string(), manifest.string()}, {});
    REQUIRE(samples.size() == 4);
    CHECK(samples[0].id == "z");
    CHECK(samples[1].id == "a");
    CHECK(samples[2].id == "b");
    CHECK(samples[3].id == "m.jsonl:1");
  }

  TEST_CASE("a missing prompt names the expected stem.txt") {
    omni::test::TempDir dir;
    write_sample(dir, "s");
    fs::remove(dir.path() / "training_images/s.txt");
    const std::string message = index_error(dir.path());
    CHECK_HAS(message, "dataset sample 's'");
    CHECK_HAS(message, (dir.path() / "training_images/s.txt").string());
    CHECK_HAS(message, (dir.path() / "control_images/s.txt").string());
  }

  TEST_CASE("a control image without a target, and a target without control 0") {
    omni::test::TempDir dir;
    write_sample(dir, "s");
    dir.write("control_images/lonely.png", "");
    std::string message = index_error(dir.path());
    CHECK_HAS(message, "control image '" + (dir.path() / "control_images/lonely.png").string());
    CHECK_HAS(message, "has no target image");
    CHECK_HAS(message, (dir.path() / "training_images/lonely").string());

    omni::test::TempDir other;
    write_sample(other, "s");
    fs::remove(other.path() / "control_images/s.jpg");
    message = index_error(other.path());
    CHECK_HAS(message, "target image '" + (other.path() / "training_images/s.png").string());
    CHECK_HAS(message, "has no control image");
    CHECK_HAS(message, (other.path() / "control_images/s").string());

    // An extra control whose sample does not exist at all.
    omni::test::TempDir third;
    write_sample(third, "s");
    third.write("control_images/ghost_control_1.png", "");
    message = index_error(third.path());
    CHECK_HAS(message, (third.path() / "control_images/ghost_control_1.png").string());
    CHECK_HAS(message, "belongs to no sample");
  }

  TEST_CASE("a gap in control numbering") {
    omni::test::TempDir dir;
    write_sample(dir, "s");
    dir.write("control_images/s_control_2.png", "");
    const std::string message = index_error(dir.path());
    CHECK_HAS(message, (dir.path() / "control_images/s_control_2.png").string());
    CHECK_HAS(message, "control 1 is missing");
    CHECK_HAS(message, (dir.path() / "control_images/s_control_1").string());
  }

  TEST_CASE("ambiguous and misplaced files") {
    omni::test::TempDir dir;
    write_sample(dir, "s");
    dir.write("training_images/s.jpg", "");
    std::string message = index_error(dir.path());
    CHECK_HAS(message, "training_images/s.jpg");
    CHECK_HAS(message, "training_images/s.png");

    omni::test::TempDir misplaced;
    write_sample(misplaced, "s");
    misplaced.write("training_images/s_control_1.png", "");
    CHECK_HAS(index_error(misplaced.path()), "extra controls belong in the control folder");

    omni::test::TempDir orphan_mask;
    write_sample(orphan_mask, "s");
    orphan_mask.write("control_images/gone_mask.png", "");
    message = index_error(orphan_mask.path());
    CHECK_HAS(message, "mask '" + (orphan_mask.path() / "control_images/gone_mask.png").string());
  }

  TEST_CASE("an image format the project cannot decode") {
    omni::test::TempDir dir;
    write_sample(dir, "s");
    dir.write("control_images/s_control_1.webp", "");
    const std::string message = index_error(dir.path());
    CHECK_HAS(message, (dir.path() / "control_images/s_control_1.webp").string());
    CHECK_HAS(message, "png, jpg or jpeg");
  }

  TEST_CASE("a prompt that is not UTF-8") {
    omni::test::TempDir dir;
    write_sample(dir, "s", 0, "caf\xe9");  // Latin-1
    const std::string message = index_error(dir.path());
    CHECK_HAS(message, (dir.path() / "training_images/s.txt").string());
    CHECK_HAS(message, "not valid UTF-8");
  }

  TEST_CASE("an empty dataset names the folder and the folder names accepted") {
    omni::test::TempDir dir;
    std::string message = index_error(dir.path());
    CHECK_HAS(message, dir.path().string());
    CHECK_HAS(message, "training_images, images, target_images, target, targets");
    CHECK_HAS(message, "control_images, control, condition_images, controls");

    dir.write("images/readme.md", "");
    dir.write("controls/.keep", "");
    message = index_error(dir.path());
    CHECK_HAS(message, "has no samples");
    CHECK_HAS(message, (dir.path() / "images").string());
    CHECK_HAS(message, (dir.path() / "controls").string());

    CHECK_HAS(error_of([] { index_dataset({}, {}); }), "data.dataset_path is empty");
    const fs::path manifest = dir.write("empty.csv", "path_target,path_control,prompt\n");
    CHECK_HAS(index_error(manifest), "lists no samples");
    CHECK_HAS(index_error(dir.write("blank.csv", "")), "is empty");
  }

  TEST_CASE("a path that does not exist, or is not a manifest") {
    omni::test::TempDir dir;
    std::string message = index_error(dir.path() / "nowhere");
    CHECK_HAS(message, (dir.path() / "nowhere").string());
    CHECK_HAS(message, "does not exist");
    message = index_error(dir.write("data.parquet", ""));
    CHECK_HAS(message, "data.parquet");
    CHECK_HAS(message, ".csv or .jsonl");
  }

  TEST_CASE("manifest rows with a missing file or column") {
    omni::test::TempDir dir;
    dir.write("t.png", "");
    dir.write("c.png", "");
    const fs::path missing_file = dir.write("a.csv",
                                            "path_target,path_control,prompt\n"
                                            "t.png,c.png,ok\n"
                                            "t.png,missing.png,bad\n");
    std::string message = index_error(missing_file);
    CHECK_HAS(message, missing_file.string() + "', line 3, column 'path_control'");
    CHECK_HAS(message, (dir.path() / "missing.png").string());
    CHECK_HAS(message, "does not exist");

    const fs::path no_prompt = dir.write("b.csv", "path_target,path_control\nt.png,c.png\n");
    message = index_error(no_prompt);
    CHECK_HAS(message, no_prompt.string());
    CHECK_HAS(message, "no 'prompt' column");
    CHECK_HAS(message, "its columns: path_target, path_control");

    const fs::path no_control = dir.write("c.csv", "path_target,prompt\nt.png,p\n");
    CHECK_HAS(index_error(no_control), "no 'path_control' (or 'control') column");
    const fs::path no_target = dir.write("d.csv", "path_control,prompt\nc.png,p\n");
    CHECK_HAS(index_error(no_target), "no 'path_target' (or 'target') column");
    DatasetIndexOptions predict;
    predict.require_target = false;
    CHECK(index_one(no_target, predict)[0].target.empty());

    const fs::path gap = dir.write("e.csv",
                                   "path_target,path_control,path_control_2,prompt\n"
                                   "t.png,c.png,c.png,p\n");
    CHECK_HAS(index_error(gap), "'path_control_1' is missing");
    const fs::path both = dir.write("f.csv",
                                    "target,path_target,path_control,prompt\n"
                                    "t.png,t.png,c.png,p\n");
    CHECK_HAS(index_error(both), "both 'target' and 'path_target'");
    const fs::path short_row = dir.write("g.csv",
                                         "path_target,path_control,prompt\n"
                                         "t.png,c.png,a, b\n");
    CHECK_HAS(index_error(short_row), "line 2: 4 fields but the header has 3");
    const fs::path empty_target = dir.write("h.csv",
                                            "path_target,path_control,prompt\n"
                                            ",c.png,p\n");
    CHECK_HAS(index_error(empty_target), "line 2: no target image");
    const fs::path unclosed = dir.write("i.csv",
                                        "path_target,path_control,prompt\n"
                                        "t.png,c.png,\"never closed\n");
    CHECK_HAS(index_error(unclosed), "opened on line 2 is never closed");
    dir.write("w.webp", "");
    const fs::path webp = dir.write("j.csv",
                                    "path_target,path_control,prompt\n"
                                    "t.png,w.webp,p\n");
    CHECK_HAS(index_error(webp), "png, jpg or jpeg");

    const fs::path jsonl = dir.write("k.jsonl", "{\"target\":\"t.png\",\"control\":\"c.png\"}\n");
    message = index_error(jsonl);
    CHECK_HAS(message, jsonl.string() + "', line 1: no 'prompt'");
    const fs::path bad_json = dir.write("l.jsonl", "{\"target\": \n");
    CHECK_HAS(index_error(bad_json), "line 1: not valid JSON");
    const fs::path mixed = dir.write("m.jsonl",
                                     "{\"target\":\"t.png\",\"control\":[\"c.png\"],"
                                     "\"control_1\":\"c.png\",\"prompt\":\"p\"}\n");
    CHECK_HAS(index_error(mixed), "either as one list or as numbered keys");
    const fs::path jsonl_missing = dir.write("n.jsonl",
                                             "{\"target\":\"t.png\",\"control\":"
                                             "[\"c.png\",\"nope.png\"],\"prompt\":\"p\"}\n");
    message = index_error(jsonl_missing);
    CHECK_HAS(message, "column 'control[1]'");
    CHECK_HAS(message, (dir.path() / "nope.png").string());
    const fs::path not_string = dir.write("o.jsonl",
                                          "{\"target\":\"t.png\",\"control\":\"c.png\","
                                          "\"prompt\":5}\n");
    CHECK_HAS(index_error(not_string), "'prompt' must be a string, not number");
  }
}
