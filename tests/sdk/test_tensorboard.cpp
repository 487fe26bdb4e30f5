// Training logs: CRC-32C against published vectors, TFRecord framing, TensorBoard events
// written and read back with both CRCs checked (byte-exact for the records whose encoding is
// fixed), corruption detected, and the JSON Lines metrics file.

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "omni/crc32c.hpp"
#include "omni/error.hpp"
#include "omni/metrics_log.hpp"
#include "omni/tensorboard.hpp"
#include "omni/tensorboard_reader.hpp"
#include "omni/tfrecord.hpp"
#include "omni/utf8.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

using omni::test::error_of;
using omni::test::read_file;

void write_bytes(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

// The start of a PNG: signature and IHDR chunk with its size; enough for the writer's checks
// (it never decodes the image).
std::string png_header(std::uint32_t height, std::uint32_t width) {
  std::string png("\x89PNG\r\n\x1a\n", 8);
  auto be32 = [&](std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) png.push_back(char(value >> shift));
  };
  be32(13);
  png += "IHDR";
  be32(width);
  be32(height);
  png += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  be32(0);                                        // chunk CRC: not checked by anyone here
  png += "IDAT and the rest";
  return png;
}

std::string little_endian_float(float value) {
  std::string bytes(4, '\0');
  std::memcpy(bytes.data(), &value, 4);
  return bytes;
}

}  // namespace

TEST_SUITE("tensorboard") {
  TEST_CASE("CRC-32C matches the published check values") {
    CHECK(omni::crc32c("123456789") == 0xe3069283u);
    // RFC 3720 (iSCSI) appendix B.4.
    CHECK(omni::crc32c(std::string(32, '\0')) == 0x8a9136aau);
    CHECK(omni::crc32c(std::string(32, '\xff')) == 0x62a8ab43u);
    std::string ascending(32, '\0');
    for (int i = 0; i < 32; ++i) ascending[i] = char(i);
    CHECK(omni::crc32c(ascending) == 0x46dd794eu);
    CHECK(omni::crc32c("") == 0u);
  }

  TEST_CASE("CRC-32C continues across pieces, at every split and alignment") {
    std::string data(1000, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = char(i * 7 + 3);
    const std::uint32_t whole = omni::crc32c(data);
    for (std::size_t split : {0, 1, 7, 8, 9, 333, 999, 1000}) {
      std::uint32_t crc = omni::crc32c_extend(0, data.data(), split);
      crc = omni::crc32c_extend(crc, data.data() + split, data.size() - split);
      CHECK(crc == whole);
    }
  }

  TEST_CASE("masking follows the TFRecord definition and unmasks back") {
    for (std::uint32_t crc : {0u, 1u, 0xe3069283u, 0xffffffffu, 0x12345678u}) {
      const std::uint32_t expected = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
      CHECK(omni::mask_crc32c(crc) == expected);
      CHECK(omni::unmask_crc32c(omni::mask_crc32c(crc)) == crc);
    }
  }

  TEST_CASE("a TFRecord frame is length, masked length CRC, data, masked data CRC") {
    const std::string record = omni::frame_tfrecord("abc");
    REQUIRE(record.size() == 8 + 4 + 3 + 4);
    CHECK(record.substr(0, 8) == std::string("\x03\0\0\0\0\0\0\0", 8));
    auto u32_at = [&](std::size_t at) {
      std::uint32_t value = 0;
      for (int i = 3; i >= 0; --i) value = (value << 8) | std::uint8_t(record[at + i]);
      return value;
    };
    CHECK(u32_at(8) == omni::mask_crc32c(omni::crc32c(record.substr(0, 8))));
    CHECK(record.substr(12, 3) == "abc");
    CHECK(u32_at(15) == omni::mask_crc32c(omni::crc32c("abc")));
  }

  TEST_CASE("scalars, an image and text are written and read back") {
    omni::test::TempDir dir;
    fs::path file;
    const std::string png = png_header(3, 5);
    {
      omni::TensorBoardWriter writer(dir.path() / "logs");
      file = writer.file();
      writer.add_scalar("train/loss", 0.25, 1);
      writer.add_scalar("train/loss", 0.125, 2);
      writer.add_scalar("train/lr", 1e-4, 2);
      writer.add_image("samples/0", png, 3, 5, 3, 2);
      writer.add_text("config", "lr: **1e-4** — ok", 0);
      writer.add_scalar("train/loss", -1.5, -1);
    }
    CHECK(file.parent_path() == dir.path() / "logs");
    const std::string name = file.filename().string();
    CHECK(name.rfind("events.out.tfevents.", 0) == 0);
    CHECK_HAS(name, "." + std::to_string(::getpid()));

    const std::vector<omni::TensorBoardEvent> events = omni::read_tensorboard_events(file);
    REQUIRE(events.size() == 7);
    CHECK(events[0].file_version == "brain.Event:2");
    CHECK(events[0].values.empty());
    CHECK(events[0].wall_time > 1.6e9);  // a Unix time in seconds, not milliseconds
    CHECK(events[0].wall_time < 1e10);

    CHECK(events[1].step == 1);
    REQUIRE(events[1].values.size() == 1);
    CHECK(events[1].values[0].tag == "train/loss");
    CHECK(events[1].values[0].simple_value == 0.25f);
    CHECK(events[2].values[0].simple_value == 0.125f);
    CHECK(events[3].values[0].tag == "train/lr");
    CHECK(events[3].values[0].simple_value == 1e-4f);
    CHECK(events[1].wall_time >= events[0].wall_time);

    REQUIRE(events[4].values.size() == 1);
    const omni::TensorBoardValue& image = events[4].values[0];
    CHECK(events[4].step == 2);
    CHECK(image.tag == "samples/0");
    CHECK_FALSE(image.simple_value.has_value());
    REQUIRE(image.image.has_value());
    CHECK(image.image->height == 3);
    CHECK(image.image->width == 5);
    CHECK(image.image->colorspace == 3);
    CHECK(image.image->encoded == png);

    const omni::TensorBoardValue& text = events[5].values[0];
    CHECK(text.tag == "config");
    CHECK(text.plugin_name == "text");
    CHECK(text.text == "lr: **1e-4** — ok");

    CHECK(events[6].step == -1);  // negative int64 as a ten-byte varint
    CHECK(events[6].values[0].simple_value == -1.5f);
  }

  TEST_CASE("the records' bytes are the protobuf encoding of event.proto and summary.proto") {
    omni::test::TempDir dir;
    fs::path file;
    {
      omni::TensorBoardWriter writer(dir.path());
      file = writer.file();
      writer.add_scalar("loss", 0.5, 3);
    }
    const std::vector<std::string> records = omni::read_tfrecords(file);
    REQUIRE(records.size() == 2);
    // Event{wall_time (1, fixed64), file_version (3, string)}.
    REQUIRE(records[0].size() == 1 + 8 + 2 + 13);
    CHECK(records[0][0] == '\x09');
    CHECK(records[0].substr(9) == std::string("\x1a\x0d") + "brain.Event:2");
    // Event{wall_time, step (2, varint) = 3, summary (5){value (1){tag (1), simple_value (2,
    // fixed32)}}}.
    const std::string expected_tail = std::string("\x10\x03\x2a\x0d\x0a\x0b\x0a\x04", 8) + "loss" +
                                      "\x15" + little_endian_float(0.5f);
    REQUIRE(records[1].size() == 9 + expected_tail.size());
    CHECK(records[1][0] == '\x09');
    CHECK(records[1].substr(9) == expected_tail);
  }

  TEST_CASE("flush() makes events readable while the writer stays open") {
    omni::test::TempDir dir;
    omni::TensorBoardWriter writer(dir.path());
    CHECK(omni::read_tensorboard_events(writer.file()).size() == 1);  // written at once
    writer.add_scalar("a", 1, 1);
    writer.flush();
    CHECK(omni::read_tensorboard_events(writer.file()).size() == 2);
  }

  TEST_CASE("two writers in one folder get separate files") {
    omni::test::TempDir dir;
    omni::TensorBoardWriter first(dir.path());
    omni::TensorBoardWriter second(dir.path());
    CHECK(first.file() != second.file());
  }

  TEST_CASE("a corrupted byte anywhere is detected by the reader") {
    omni::test::TempDir dir;
    fs::path file;
    {
      omni::TensorBoardWriter writer(dir.path());
      file = writer.file();
      writer.add_scalar("loss", 0.5, 3);
    }
    const std::string good = read_file(file);
    // Every byte of the second record: length, length CRC, data, data CRC.
    const std::size_t second = omni::frame_tfrecord(std::string(24, 'x')).size();
    for (std::size_t at = second; at < good.size(); ++at) {
      std::string bad = good;
      bad[at] = char(bad[at] ^ 0x10);
      write_bytes(file, bad);
      const std::string message = error_of([&] { omni::read_tensorboard_events(file); });
      CHECK_HAS(message, file.string());
      CHECK_HAS(message, "record 1");
    }
    write_bytes(file, good.substr(0, good.size() - 2));
    CHECK_HAS(error_of([&] { omni::read_tfrecords(file); }), "remain");
    write_bytes(file, good.substr(0, second + 5));
    CHECK_HAS(error_of([&] { omni::read_tfrecords(file); }), "truncated header");
    write_bytes(file, good);
    CHECK(omni::read_tensorboard_events(file).size() == 2);
  }

  TEST_CASE("a record with valid CRCs but a malformed Event is reported") {
    omni::test::TempDir dir;
    const fs::path file = dir.path() / "events.out.tfevents.bad";
    // Field 2 (step) as a varint cut short.
    write_bytes(file, omni::frame_tfrecord("\x10\xff"));
    const std::string message = error_of([&] { omni::read_tensorboard_events(file); });
    CHECK_HAS(message, file.string());
    CHECK_HAS(message, "truncated varint");
  }

  TEST_CASE("bad arguments are refused with the file named") {
    omni::test::TempDir dir;
    omni::TensorBoardWriter writer(dir.path());
    const std::string file = writer.file().string();
    const std::string png = png_header(4, 6);
    std::string message = error_of([&] { writer.add_image("img", "raw pixels", 4, 6, 3, 0); });
    CHECK_HAS(message, file);
    CHECK_HAS(message, "not an encoded PNG");
    message = error_of([&] { writer.add_image("img", png, 6, 4, 3, 0); });
    CHECK_HAS(message, "given as 6x4 (height x width) but the PNG is 4x6");
    CHECK_HAS(error_of([&] { writer.add_image("img", png, 4, 6, 5, 0); }), "5 channels");
    CHECK_HAS(error_of([&] { writer.add_scalar("", 1, 0); }), "empty tag");
    CHECK_HAS(error_of([&] { writer.add_scalar("bad\xff", 1, 0); }), "not valid UTF-8");
    CHECK_HAS(error_of([&] { writer.add_text("t", "bad\xc3", 0); }), "not valid UTF-8");
  }

  TEST_CASE("an event file that cannot be created names the folder") {
    omni::test::TempDir dir;
    dir.write("taken", "a file where the folder should be");
    const std::string message =
        error_of([&] { omni::TensorBoardWriter writer(dir.path() / "taken" / "logs"); });
    CHECK_HAS(message, (dir.path() / "taken" / "logs").string());
  }

  TEST_CASE("UTF-8 validation rejects overlong forms, surrogates and truncation") {
    CHECK_FALSE(omni::first_invalid_utf8("plain, é, 中, 😀").has_value());
    CHECK(omni::first_invalid_utf8("ab\xc0\x80") == 2u);         // overlong NUL
    CHECK(omni::first_invalid_utf8("\xed\xa0\x80") == 0u);       // a surrogate
    CHECK(omni::first_invalid_utf8("x\xf4\x90\x80\x80") == 1u);  // past U+10FFFF
    CHECK(omni::first_invalid_utf8("xy\xe4\xb8") == 2u);         // cut short
    CHECK(omni::first_invalid_utf8("\x80") == 0u);               // a lone continuation
  }
}

TEST_SUITE("tensorboard") {
  TEST_CASE("the metrics log writes one JSON object per line, in order") {
    omni::test::TempDir dir;
    const fs::path file = dir.path() / "run" / "metrics.jsonl";
    {
      omni::MetricsLog log(file);
      log.log(1, {{"loss", 0.5}, {"lr", 1e-4}});
      // Each line is on disk as soon as log() returns: no flush, no close.
      CHECK(read_file(file).find("\"loss\":0.5") != std::string::npos);
      log.log(2, {{"loss", std::nan("")}, {"grad_norm", 3}});
    }
    std::istringstream lines(read_file(file));
    std::vector<nlohmann::json> parsed;
    for (std::string line; std::getline(lines, line);)
      parsed.push_back(nlohmann::json::parse(line));
    REQUIRE(parsed.size() == 2);
    CHECK(parsed[0]["step"] == 1);
    CHECK(parsed[0]["loss"] == 0.5);
    CHECK(parsed[0]["lr"] == 1e-4);
    CHECK(parsed[0]["wall_time"].get<double>() > 1.6e9);
    CHECK(parsed[1]["step"] == 2);
    CHECK(parsed[1]["loss"].is_null());
    CHECK(parsed[1]["grad_norm"] == 3);
    // Names keep the order they were given in.
    CHECK(read_file(file).find("\"step\":1,\"wall_time\":") == 1);
  }

  TEST_CASE("a resumed run appends, and a line cut short by a crash stays apart") {
    omni::test::TempDir dir;
    const fs::path file = dir.write("metrics.jsonl", "{\"step\":1,\"loss\":1}\n{\"step\":2,\"lo");
    {
      omni::MetricsLog log(file);
      log.log(3, {{"loss", 0.25}});
    }
    std::istringstream lines(read_file(file));
    std::vector<std::string> all;
    for (std::string line; std::getline(lines, line);) all.push_back(line);
    REQUIRE(all.size() == 3);
    CHECK(all[0] == "{\"step\":1,\"loss\":1}");
    CHECK(all[1] == "{\"step\":2,\"lo");
    CHECK(nlohmann::json::parse(all[2])["step"] == 3);
  }

  TEST_CASE("resuming at a step drops the later lines and the cut ones, once each step") {
    omni::test::TempDir dir;
    // Steps 1-4 logged, the checkpoint at 2, then a kill in the middle of step 5's line.
    const fs::path file = dir.write(
        "metrics.jsonl", "{\"step\":1,\"loss\":1}\n{\"step\":2,\"loss\":2}\n{\"step\":2,\"val_loss\":5}\n"
                         "{\"step\":3,\"loss\":3}\n{\"step\":4,\"loss\":4}\n{\"step\":5,\"lo");
    {
      omni::MetricsLog log(file, 2);
      log.log(3, {{"loss", 0.25}});
    }
    std::istringstream lines(read_file(file));
    std::vector<nlohmann::json> parsed;
    for (std::string line; std::getline(lines, line);) parsed.push_back(nlohmann::json::parse(line));
    REQUIRE(parsed.size() == 4);
    CHECK(parsed[0]["step"] == 1);
    CHECK(parsed[2]["val_loss"] == 5);
    CHECK(parsed[3]["step"] == 3);
    CHECK(parsed[3]["loss"] == 0.25);
  }

  TEST_CASE("the metrics log refuses reserved and repeated names, naming the file") {
    omni::test::TempDir dir;
    omni::MetricsLog log(dir.path() / "m.jsonl");
    std::string message = error_of([&] { log.log(1, {{"step", 1}}); });
    CHECK_HAS(message, (dir.path() / "m.jsonl").string());
    CHECK_HAS(message, "reserved");
    CHECK_HAS(error_of([&] { log.log(1, {{"a", 1}, {"a", 2}}); }), "given twice");
  }
}
