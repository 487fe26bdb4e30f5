// The optimizers written here (Prodigy, Adafactor) against their algorithms written out in
// double precision from the papers' and reference implementations' update rules, and their
// save/load continuing a run exactly.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include <ATen/ATen.h>
#include <torch/serialize/input-archive.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/serialize/output-archive.h>

#include "omni/training/adafactor.hpp"
#include "omni/training/gradient_clipping.hpp"
#include "omni/training/prodigy.hpp"

namespace {

struct ReferenceSettings {
  double lr = 1.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.0, d0 = 1e-6,
         d_coef = 1.0;
  bool bias_correction = false, safeguard_warmup = false;
};

// Prodigy on one vector of weights, every quantity a double; the weights are rounded to
// float after each step because the optimizer under test keeps fp32 weights.
struct ReferenceProdigy {
  ReferenceSettings settings;
  std::vector<double> w, m, v, s, p0;
  double d, d_max, numerator = 0;
  int k = 0;

  ReferenceProdigy(ReferenceSettings given, std::vector<double> weights)
      : settings(given), w(weights), m(weights.size()), v(weights.size()), s(weights.size()),
        p0(weights), d(given.d0), d_max(given.d0) {}

  void step(const std::vector<double>& g) {
    const ReferenceSettings& c = settings;
    const double beta3 = std::sqrt(c.beta2);
    const double correction = c.bias_correction ? std::sqrt(1 - std::pow(c.beta2, k + 1)) /
                                                      (1 - std::pow(c.beta1, k + 1))
                                                : 1.0;
    const double dlr = d * c.lr * correction;
    numerator *= beta3;
    double denominator = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
      numerator += (d / c.d0) * dlr * g[i] * (p0[i] - w[i]);
      m[i] = c.beta1 * m[i] + d * (1 - c.beta1) * g[i];
      v[i] = c.beta2 * v[i] + d * d * (1 - c.beta2) * g[i] * g[i];
      s[i] = beta3 * s[i] + (d / c.d0) * (c.safeguard_warmup ? d : dlr) * g[i];
      denominator += std::abs(s[i]);
    }
    const double d_hat = c.d_coef * numerator / denominator;
    double next_d = d == c.d0 ? std::max(d, d_hat) : d;
    d_max = std::max(d_max, d_hat);
    // min(d_max, d * growth_rate) with the default growth_rate of infinity: d_max.
    next_d = std::min(d_max, next_d * std::numeric_limits<double>::infinity());
    for (std::size_t i = 0; i < w.size(); ++i) {
      double value = w[i] - c.weight_decay * dlr * w[i];
      value -= dlr * m[i] / (std::sqrt(v[i]) + next_d * c.eps);
      w[i] = static_cast<float>(value);
    }
    d = next_d;
    ++k;
  }
};

// Gradients of 0.5 * |w - target|^2: they depend on the path taken, so a wrong step shows.
const std::vector<double> kTarget{1.0, -2.0, 0.5, 3.0};
const std::vector<double> kStart{1e-5, -3e-5, 2e-5, 0.0};

std::vector<double> gradient_at(const std::vector<double>& w) {
  std::vector<double> g(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) g[i] = w[i] - kTarget[i];
  return g;
}

at::Tensor make_weights() {
  return at::tensor(std::vector<float>(kStart.begin(), kStart.end())).requires_grad_(true);
}

void set_gradient(const at::Tensor& weights) {
  at::Tensor target = at::tensor(std::vector<float>(kTarget.begin(), kTarget.end()));
  weights.mutable_grad() = weights.detach() - target;
}

std::vector<double> values(const at::Tensor& tensor) {
  at::Tensor flat = tensor.detach().to(at::kDouble).contiguous();
  return {flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel()};
}

omni::ProdigyOptions options_for(const ReferenceSettings& c) {
  omni::ProdigyOptions options(c.lr);
  options.beta1(c.beta1).beta2(c.beta2).eps(c.eps).weight_decay(c.weight_decay).d_coef(c.d_coef);
  options.use_bias_correction(c.bias_correction).safeguard_warmup(c.safeguard_warmup);
  return options;
}

void check_against_reference(const ReferenceSettings& settings, int steps) {
  at::Tensor weights = make_weights();
  omni::Prodigy optimizer({weights}, options_for(settings));
  ReferenceProdigy reference(settings, kStart);
  for (int step = 0; step < steps; ++step) {
    CAPTURE(step);
    set_gradient(weights);
    optimizer.step();
    reference.step(gradient_at(reference.w));
    CHECK(optimizer.estimate().d == doctest::Approx(reference.d).epsilon(1e-5));
    CHECK(optimizer.estimate().k == reference.k);
    const std::vector<double> got = values(weights);
    for (std::size_t i = 0; i < got.size(); ++i) {
      CAPTURE(i);
      CHECK(got[i] == doctest::Approx(reference.w[i]).epsilon(1e-5).scale(0));
    }
  }
  // The estimate must have moved off d0, or the test checked only Adam's part.
  CHECK(reference.d > 1.5 * settings.d0);
}

// Adafactor on a rows x cols matrix (factored second moment) or a vector (cols == 0), every
// quantity a double, weights rounded to float after each step.
struct ReferenceAdafactor {
  double lr = 0.01, eps = 1e-30, clip = 1.0, decay = -0.8, weight_decay = 0.0;
  std::size_t rows, cols;
  std::vector<double> w, row, col, full;
  int step_count = 0;

  ReferenceAdafactor(std::vector<double> weights, std::size_t rows_, std::size_t cols_)
      : rows(rows_), cols(cols_), w(std::move(weights)), row(rows), col(cols), full(w.size()) {}

  void step(const std::vector<double>& g) {
    ++step_count;
    const double beta2t = 1 - std::pow(step_count, decay);
    std::vector<double> update(w.size());
    if (cols > 0) {
      for (std::size_t r = 0; r < rows; ++r) {
        double mean = 0;
        for (std::size_t c = 0; c < cols; ++c) mean += (g[r * cols + c] * g[r * cols + c] + eps) / cols;
        row[r] = beta2t * row[r] + (1 - beta2t) * mean;
      }
      for (std::size_t c = 0; c < cols; ++c) {
        double mean = 0;
        for (std::size_t r = 0; r < rows; ++r) mean += (g[r * cols + c] * g[r * cols + c] + eps) / rows;
        col[c] = beta2t * col[c] + (1 - beta2t) * mean;
      }
      double row_mean = 0;
      for (double value : row) row_mean += value / rows;
      // The factored estimate of the second moment: row * col / mean(row).
      for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t c = 0; c < cols; ++c) {
          update[r * cols + c] = g[r * cols + c] / std::sqrt(row[r] / row_mean * col[c]);
        }
      }
    } else {
      for (std::size_t i = 0; i < w.size(); ++i) {
        full[i] = beta2t * full[i] + (1 - beta2t) * (g[i] * g[i] + eps);
        update[i] = g[i] / std::sqrt(full[i]);
      }
    }
    double square_sum = 0;
    for (double value : update) square_sum += value * value;
    const double scale = std::max(1.0, std::sqrt(square_sum / update.size()) / clip);
    for (std::size_t i = 0; i < w.size(); ++i) {
      w[i] = static_cast<float>(w[i] - weight_decay * lr * w[i] - lr * update[i] / scale);
    }
  }
};

const std::vector<double> kMatrixTarget{1.0, -2.0, 0.5, 3.0, -0.25, 4.0};
const std::vector<double> kMatrixStart{0.1, 0.2, -0.3, 0.0, 0.5, -0.1};

void set_matrix_gradient(const at::Tensor& weights) {
  at::Tensor target = at::tensor(std::vector<float>(kMatrixTarget.begin(), kMatrixTarget.end()))
                          .view(weights.sizes());
  // Uneven scales per element, so the factored estimate differs from the full one.
  at::Tensor scale = at::arange(1, 7, at::kFloat).view(weights.sizes());
  weights.mutable_grad() = (weights.detach() - target) * scale;
}

std::vector<double> matrix_gradient_at(const std::vector<double>& w) {
  std::vector<double> g(w.size());
  for (std::size_t i = 0; i < w.size(); ++i) g[i] = (w[i] - kMatrixTarget[i]) * double(i + 1);
  return g;
}

at::Tensor make_matrix(bool as_matrix) {
  at::Tensor weights = at::tensor(std::vector<float>(kMatrixStart.begin(), kMatrixStart.end()));
  return (as_matrix ? weights.view({2, 3}) : weights).clone().requires_grad_(true);
}

}  // namespace

TEST_SUITE("optimizers") {
  TEST_CASE("Prodigy steps match the update rules computed by hand") {
    SUBCASE("defaults") { check_against_reference({}, 8); }
    SUBCASE("bias correction, decoupled weight decay, d_coef") {
      ReferenceSettings settings;
      settings.bias_correction = true;
      settings.weight_decay = 0.1;
      settings.d_coef = 2.0;
      settings.lr = 0.5;
      check_against_reference(settings, 8);
    }
    SUBCASE("safeguard warmup") {
      ReferenceSettings settings;
      settings.safeguard_warmup = true;
      check_against_reference(settings, 8);
    }
  }

  TEST_CASE("Prodigy with no gradient takes no step") {
    at::Tensor weights = make_weights();
    omni::Prodigy optimizer({weights}, {});
    optimizer.step();
    CHECK(optimizer.estimate().k == 0);
    CHECK(values(weights) == values(make_weights()));
  }

  TEST_CASE("Prodigy saved mid-run and loaded into a new optimizer continues identically") {
    ReferenceSettings settings;
    settings.weight_decay = 0.01;
    at::Tensor straight = make_weights();
    omni::Prodigy uninterrupted({straight}, options_for(settings));
    for (int step = 0; step < 6; ++step) {
      set_gradient(straight);
      uninterrupted.step();
    }

    at::Tensor first_half = make_weights();
    omni::Prodigy before({first_half}, options_for(settings));
    for (int step = 0; step < 3; ++step) {
      set_gradient(first_half);
      before.step();
    }
    std::stringstream bytes;
    torch::serialize::OutputArchive out;
    before.save(out);
    out.save_to(bytes);

    at::Tensor resumed = first_half.detach().clone().requires_grad_(true);
    omni::Prodigy after({resumed}, options_for(settings));
    torch::serialize::InputArchive in;
    in.load_from(bytes);
    after.load(in);
    CHECK(after.estimate().d == before.estimate().d);
    CHECK(after.estimate().k == 3);
    for (int step = 0; step < 3; ++step) {
      set_gradient(resumed);
      after.step();
    }
    CHECK(at::equal(resumed, straight));
    CHECK(after.estimate().d == uninterrupted.estimate().d);
    CHECK(after.estimate().d_numerator == uninterrupted.estimate().d_numerator);
  }

  TEST_CASE("Prodigy refuses an archive written by another optimizer") {
    at::Tensor weights = make_weights();
    torch::serialize::OutputArchive out;
    out.write("something", at::zeros({1}));
    std::stringstream bytes;
    out.save_to(bytes);
    torch::serialize::InputArchive in;
    in.load_from(bytes);
    omni::Prodigy optimizer({weights}, {});
    CHECK_THROWS_WITH(optimizer.load(in), doctest::Contains("prodigy/d"));
  }

  TEST_CASE("Adafactor steps match the update rules computed by hand") {
    for (bool as_matrix : {true, false}) {
      for (double weight_decay : {0.0, 0.1}) {
        CAPTURE(as_matrix);
        CAPTURE(weight_decay);
        at::Tensor weights = make_matrix(as_matrix);
        omni::AdafactorOptions options(0.01);
        options.weight_decay(weight_decay);
        omni::Adafactor optimizer({weights}, options);
        ReferenceAdafactor reference(kMatrixStart, as_matrix ? 2 : 0, as_matrix ? 3 : 0);
        reference.weight_decay = weight_decay;
        for (int step = 0; step < 4; ++step) {
          CAPTURE(step);
          set_matrix_gradient(weights);
          optimizer.step();
          reference.step(matrix_gradient_at(reference.w));
          const std::vector<double> got = values(weights);
          for (std::size_t i = 0; i < got.size(); ++i) {
            CAPTURE(i);
            CHECK(got[i] == doctest::Approx(reference.w[i]).epsilon(1e-5));
          }
        }
      }
    }
  }

  TEST_CASE("Adafactor saved mid-run and loaded into a new optimizer continues identically") {
    at::Tensor straight = make_matrix(true);
    omni::Adafactor uninterrupted({straight}, omni::AdafactorOptions(0.01));
    for (int step = 0; step < 6; ++step) {
      set_matrix_gradient(straight);
      uninterrupted.step();
    }
    at::Tensor first_half = make_matrix(true);
    omni::Adafactor before({first_half}, omni::AdafactorOptions(0.01));
    for (int step = 0; step < 3; ++step) {
      set_matrix_gradient(first_half);
      before.step();
    }
    std::stringstream bytes;
    torch::serialize::OutputArchive out;
    before.save(out);
    out.save_to(bytes);
    at::Tensor resumed = first_half.detach().clone().requires_grad_(true);
    omni::Adafactor after({resumed}, omni::AdafactorOptions(0.01));
    torch::serialize::InputArchive in;
    in.load_from(bytes);
    after.load(in);
    for (int step = 0; step < 3; ++step) {
      set_matrix_gradient(resumed);
      after.step();
    }
    CHECK(at::equal(resumed, straight));
  }

  TEST_CASE("clip_grad_norm clips as torch's clip_grad_norm_ does, the norm staying a tensor") {
    const auto make = [](double scale) {
      std::vector<at::Tensor> params;
      for (std::int64_t n : {3, 5, 7}) {
        at::Tensor p = at::randn({n}).requires_grad_(true);
        p.mutable_grad() = at::randn({n}) * scale;
        params.push_back(p);
      }
      return params;
    };
    for (double scale : {10.0, 0.01}) {  // clipped, then left alone
      CAPTURE(scale);
      at::manual_seed(3);
      std::vector<at::Tensor> ours = make(scale);
      at::manual_seed(3);
      std::vector<at::Tensor> theirs = make(scale);
      const std::vector<at::Tensor> before{ours[0].grad().clone(), ours[1].grad().clone(),
                                           ours[2].grad().clone()};
      const at::Tensor norm = omni::clip_grad_norm(ours, 1.0);
      const double expected = torch::nn::utils::clip_grad_norm_(theirs, 1.0);
      CHECK(norm.dim() == 0);
      CHECK(norm.item<double>() == doctest::Approx(expected).epsilon(1e-6));
      for (std::size_t i = 0; i < ours.size(); ++i) {
        CHECK(at::allclose(ours[i].grad(), theirs[i].grad(), 1e-6, 1e-7));
        if (scale < 1) CHECK(at::equal(ours[i].grad(), before[i]));
      }
    }
    const at::Tensor none = at::zeros({2}).requires_grad_(true);
    CHECK(omni::clip_grad_norm({none}, 1.0).item<double>() == 0.0);
  }
}
