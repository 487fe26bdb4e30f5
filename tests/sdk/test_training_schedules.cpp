// The SDK's learning-rate schedules against diffusers' get_scheduler (committed reference
// factors), and the timestep densities against their definitions.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "omni/error.hpp"
#include "omni/training/lr_schedule.hpp"
#include "omni/training/timestep_sampling.hpp"
#include "test_support.hpp"

namespace {

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// `count` sigmas drawn one by one from one generator, as the trainer draws them.
std::vector<double> draws(const omni::TimestepSampling& sampling, int count, std::uint64_t seed) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<double> out;
  for (int i = 0; i < count; ++i) out.push_back(omni::sample_sigma(sampling, generator));
  return out;
}

double fraction_below(const std::vector<double>& values, double bound) {
  double below = 0;
  for (double v : values) below += v < bound;
  return below / static_cast<double>(values.size());
}

}  // namespace

TEST_SUITE("training_schedules") {
  TEST_CASE("every LR schedule gives diffusers' get_scheduler factors, step by step") {
    std::ifstream in(omni::test::fixtures_dir() / "training" / "lr_schedule_cases.json");
    REQUIRE(in);
    const nlohmann::json document = nlohmann::json::parse(in);
    REQUIRE(document.at("cases").size() >= 8);
    for (const auto& item : document.at("cases")) {
      omni::LrSchedule schedule;
      schedule.type = item.at("type").get<std::string>();
      schedule.warmup_steps = item.at("warmup_steps").get<long>();
      schedule.total_steps = item.at("total_steps").get<long>();
      schedule.num_cycles = item.at("num_cycles").get<double>();
      schedule.power = item.at("power").get<double>();
      schedule.lr_end = item.at("lr_end").get<double>();
      const double base_lr = item.at("base_lr").get<double>();
      const auto expected = item.at("factors").get<std::vector<double>>();
      for (std::size_t step = 0; step < expected.size(); ++step) {
        CAPTURE(schedule.type);
        CAPTURE(schedule.num_cycles);
        CAPTURE(step);
        CHECK(omni::lr_factor(schedule, static_cast<long>(step), base_lr) ==
              doctest::Approx(expected[step]).epsilon(1e-9));
      }
    }
    omni::LrSchedule unknown;
    unknown.type = "step";
    CHECK_THROWS_WITH_AS(omni::lr_factor(unknown, 0, 1e-3),
                         doctest::Contains("unknown schedule 'step'"), omni::Error);
  }

  TEST_CASE("timestep densities: uniform, logit-normal, sigmoid, and the resolution shift") {
    constexpr int n = 20000;
    omni::TimestepSampling uniform;
    const std::vector<double> u = draws(uniform, n, 11);
    CHECK(fraction_below(u, 0.25) == doctest::Approx(0.25).epsilon(0.05));
    CHECK(fraction_below(u, 0.9) == doctest::Approx(0.9).epsilon(0.02));

    // logit-normal(m, s): P(sigma < logistic(m + s z)) = Phi(z); Phi(-1) = 0.1587.
    omni::TimestepSampling logit;
    logit.kind = "logit_normal";
    logit.logit_mean = 0.5;
    logit.logit_std = 2.0;
    const std::vector<double> l = draws(logit, n, 12);
    CHECK(fraction_below(l, logistic(0.5)) == doctest::Approx(0.5).epsilon(0.04));
    CHECK(fraction_below(l, logistic(0.5 - 2.0)) == doctest::Approx(0.1587).epsilon(0.08));

    // sigmoid(scale * N(0, 1)): the same with mean 0 and std = scale.
    omni::TimestepSampling sigmoid;
    sigmoid.kind = "sigmoid";
    sigmoid.sigmoid_scale = 3.0;
    const std::vector<double> s = draws(sigmoid, n, 13);
    CHECK(fraction_below(s, 0.5) == doctest::Approx(0.5).epsilon(0.04));
    CHECK(fraction_below(s, logistic(-3.0)) == doctest::Approx(0.1587).epsilon(0.08));

    // The shift maps each unshifted draw: sigma' = e^mu / (e^mu + 1/sigma - 1).
    omni::TimestepSampling shifted = uniform;
    shifted.mu = 1.15;
    const std::vector<double> t = draws(shifted, 200, 11);
    for (std::size_t i = 0; i < t.size(); ++i) {
      const double e = std::exp(1.15);
      CHECK(t[i] == doctest::Approx(std::clamp(e / (e + 1.0 / u[i] - 1.0), 1e-5, 1 - 1e-5)));
    }
    CHECK(fraction_below(draws(shifted, n, 14), 0.5) < 0.3);  // shifted toward noise

    omni::TimestepSampling unknown;
    unknown.kind = "beta";
    CHECK_THROWS_WITH_AS(draws(unknown, 1, 1), doctest::Contains("unknown kind 'beta'"),
                         omni::Error);
  }
}
