// HCLT learning: Chow-Liu structure from pairwise mutual information, then
// EM over the latent tree. Deterministic for any thread count: every job
// writes only its own results and partial sums are added in a fixed order.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/parallel.h"
#include "model/pc/hclt.h"

namespace sibyl::pc {

namespace {

// Records per E-step job: partial sums are added in job order.
constexpr size_t kChunk = 1024;

// Small deterministic noise for breaking ties between latent states.
struct SplitMix {
  uint64_t s;
  double next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * (1.0 / 9007199254740992.0);
  }
};

// Mutual information between every pair of variables, values binned.
std::vector<float> mutual_information(const uint8_t* records, size_t n, uint32_t d, uint32_t values,
                                      const TrainOptions& opt) {
  const size_t s_count = std::max<size_t>(1, std::min<size_t>(n, opt.mi_samples));
  const uint32_t bins = std::max<uint32_t>(2, std::min<uint32_t>(opt.mi_bins, values));
  std::vector<uint8_t> q(size_t(d) * s_count);
  for (size_t s = 0; s < s_count; ++s) {
    const uint8_t* r = records + (s * n / s_count) * d;
    for (uint32_t v = 0; v < d; ++v) q[size_t(v) * s_count + s] = static_cast<uint8_t>(uint32_t(r[v]) * bins / values);
  }
  std::vector<double> lg(s_count + 1, 0.0);
  for (size_t c = 1; c <= s_count; ++c) lg[c] = std::log(static_cast<double>(c));
  std::vector<uint32_t> marg(size_t(d) * bins, 0);
  for (uint32_t v = 0; v < d; ++v)
    for (size_t s = 0; s < s_count; ++s) ++marg[size_t(v) * bins + q[size_t(v) * s_count + s]];
  std::vector<float> mi(size_t(d) * d, 0.0f);
  run_parallel(d, opt.threads, [&](size_t i) {
    std::vector<uint32_t> h(size_t(bins) * bins);
    const uint8_t* qi = &q[i * s_count];
    for (uint32_t j = static_cast<uint32_t>(i) + 1; j < d; ++j) {
      std::fill(h.begin(), h.end(), 0u);
      const uint8_t* qj = &q[size_t(j) * s_count];
      for (size_t s = 0; s < s_count; ++s) ++h[size_t(qi[s]) * bins + qj[s]];
      double sum = 0;
      for (uint32_t a = 0; a < bins; ++a) {
        const uint32_t ca = marg[i * bins + a];
        if (ca == 0) continue;
        for (uint32_t b = 0; b < bins; ++b) {
          const uint32_t c = h[size_t(a) * bins + b];
          if (c == 0) continue;
          sum += c * (lg[c] + lg[s_count] - lg[ca] - lg[marg[size_t(j) * bins + b]]);
        }
      }
      mi[i * d + j] = mi[size_t(j) * d + i] = static_cast<float>(sum / static_cast<double>(s_count));
    }
  });
  return mi;
}

// Maximum spanning tree (Prim, ties to the lower index), rooted at its centre.
std::vector<uint32_t> chow_liu_tree(const std::vector<float>& mi, uint32_t d) {
  std::vector<std::vector<uint32_t>> adj(d);
  std::vector<float> key(d, -1.0f);
  std::vector<uint32_t> from(d, kNoParent);
  std::vector<bool> in(d, false);
  key[0] = 0;
  for (uint32_t step = 0; step < d; ++step) {
    uint32_t best = kNoParent;
    for (uint32_t v = 0; v < d; ++v)
      if (!in[v] && (best == kNoParent || key[v] > key[best])) best = v;
    in[best] = true;
    if (from[best] != kNoParent) {
      adj[best].push_back(from[best]);
      adj[from[best]].push_back(best);
    }
    for (uint32_t v = 0; v < d; ++v)
      if (!in[v] && mi[size_t(best) * d + v] > key[v]) key[v] = mi[size_t(best) * d + v], from[v] = best;
  }
  for (auto& a : adj) std::sort(a.begin(), a.end());
  auto bfs = [&](uint32_t src, std::vector<uint32_t>* par) {
    std::vector<uint32_t> dist(d, kNoParent), queue{src};
    par->assign(d, kNoParent);
    dist[src] = 0;
    for (size_t qi = 0; qi < queue.size(); ++qi) {
      const uint32_t u = queue[qi];
      for (uint32_t w : adj[u])
        if (dist[w] == kNoParent) dist[w] = dist[u] + 1, (*par)[w] = u, queue.push_back(w);
    }
    return queue.back();  // a farthest vertex
  };
  std::vector<uint32_t> par;
  const uint32_t a = bfs(0, &par);
  const uint32_t b = bfs(a, &par);
  std::vector<uint32_t> path{b};
  while (path.back() != a) path.push_back(par[path.back()]);
  const uint32_t centre = path[path.size() / 2];
  bfs(centre, &par);
  return par;  // par[centre] == kNoParent
}

// Latent state z of variable v starts as "v's value lies in the z-th
// quantile range": leaves are the value histograms of each range,
// transitions the co-occurrence of the ranges of parent and child.
void initialise(const uint8_t* records, size_t n, const TrainOptions& opt, Hclt* m) {
  const uint32_t d = m->vars, k = m->latent, nv = m->values;
  std::vector<uint8_t> bucket(size_t(d) * nv);
  for (uint32_t v = 0; v < d; ++v) {
    std::vector<double> hist(nv, 0.0);
    for (size_t r = 0; r < n; ++r) hist[records[r * d + v]] += 1;
    double below = 0;
    for (uint32_t x = 0; x < nv; ++x) {
      const double mid = (below + hist[x] / 2) / static_cast<double>(n);
      bucket[size_t(v) * nv + x] = static_cast<uint8_t>(std::min<double>(k - 1, std::floor(mid * k)));
      below += hist[x];
    }
  }
  SplitMix rng{0x5157b1u};
  std::vector<double> leaf(size_t(d) * k * nv, 0.0), trans(size_t(d) * k * k, 0.0), prior(k, 0.0);
  const uint32_t root = m->root();
  for (size_t r = 0; r < n; ++r) {
    const uint8_t* x = records + r * d;
    for (uint32_t v = 0; v < d; ++v) {
      const uint32_t z = bucket[size_t(v) * nv + x[v]];
      leaf[(size_t(v) * k + z) * nv + x[v]] += 1;
      if (v == root) {
        prior[z] += 1;
      } else {
        const uint32_t p = m->parent[v];
        trans[(size_t(v) * k + bucket[size_t(p) * nv + x[p]]) * k + z] += 1;
      }
    }
  }
  // Smoothing plus noise (so that empty ranges do not start identical).
  auto finish_rows = [&](std::vector<double>& c, float* dst, size_t rows, size_t cols, double pseudo) {
    for (size_t i = 0; i < rows; ++i) {
      double sum = 0;
      for (size_t j = 0; j < cols; ++j) {
        c[i * cols + j] += pseudo * (1.0 + 0.5 * rng.next());
        sum += c[i * cols + j];
      }
      for (size_t j = 0; j < cols; ++j)
        dst[i * cols + j] = std::max(kMinParam, static_cast<float>(c[i * cols + j] / sum));
    }
  };
  // The initial leaves are deliberately smooth: a latent state should
  // grow into more than its value range.
  finish_rows(leaf, m->leaf.data(), size_t(d) * k, nv, std::max(1.0, static_cast<double>(n) / (k * nv)));
  finish_rows(trans, m->trans.data(), size_t(d) * k, k, 1.0);
  finish_rows(prior, m->prior.data(), 1, k, 1.0);
  for (size_t j = 0; j < size_t(k) * k; ++j) m->trans[size_t(root) * k * k + j] = 0.0f;
  (void)opt;
}

// Expected counts of one E-step job.
struct Counts {
  std::vector<float> outer;  // [v][zp][c]: sum of a(zp) b(c); times T gives the transition counts
  std::vector<float> leaf;   // [v][x][z]
  std::vector<float> prior;
  double bits = 0;
};

class EStep {
 public:
  EStep(const Hclt& m, const TreeOrder& t) : m_(m), t_(t), k_(m.latent), tt_(transpose_transitions(m)) {}

  void run(const uint8_t* records, size_t n, Counts* out) const {
    const uint32_t d = m_.vars, k = k_, nv = m_.values;
    const size_t kk = size_t(k) * k;
    out->outer.assign(size_t(d) * kk, 0.0f);
    out->leaf.assign(size_t(d) * nv * k, 0.0f);
    out->prior.assign(k, 0.0f);
    out->bits = 0;
    std::vector<float> beta(size_t(d) * k), up(size_t(d) * k), gamma(size_t(d) * k);
    std::vector<float> a(k), g(k);
    for (size_t r = 0; r < n; ++r) {
      const uint8_t* x = records + r * d;
      std::fill(beta.begin(), beta.end(), 1.0f);
      double bits = 0;
      for (uint32_t i = d; i-- > 0;) {
        const uint32_t v = t_.order[i];
        float* b = &beta[size_t(v) * k];
        const float* leaf = &m_.leaf[m_.leaf_offset(v)] + x[v];
        float sum = 0;
        for (uint32_t z = 0; z < k; ++z) {
          b[z] *= leaf[size_t(z) * nv];
          sum += b[z];
        }
        bits -= std::log2(static_cast<double>(sum));
        const float rs = 1.0f / sum;
        for (uint32_t z = 0; z < k; ++z) b[z] *= rs;
        const uint32_t p = m_.parent[v];
        if (p == kNoParent) continue;
        float* u = &up[size_t(v) * k];
        std::fill(u, u + k, 0.0f);
        const float* tt = &tt_[v * kk];
        for (uint32_t c = 0; c < k; ++c) {
          const float w = b[c];
          const float* row = tt + size_t(c) * k;
          for (uint32_t zp = 0; zp < k; ++zp) u[zp] += w * row[zp];
        }
        float* pb = &beta[size_t(p) * k];
        for (uint32_t zp = 0; zp < k; ++zp) pb[zp] *= u[zp];
      }
      // Root posterior.
      const uint32_t root = t_.order[0];
      float* groot = &gamma[size_t(root) * k];
      {
        const float* b = &beta[size_t(root) * k];
        double total = 0;
        for (uint32_t z = 0; z < k; ++z) groot[z] = m_.prior[z] * b[z], total += groot[z];
        bits -= std::log2(total);
        const float rs = static_cast<float>(1.0 / total);
        for (uint32_t z = 0; z < k; ++z) groot[z] *= rs, out->prior[z] += groot[z];
        float* lacc = &out->leaf[(size_t(root) * nv + x[root]) * k];
        for (uint32_t z = 0; z < k; ++z) lacc[z] += groot[z];
      }
      out->bits += bits;
      // Downward: posteriors of every edge and latent.
      for (uint32_t i = 1; i < d; ++i) {
        const uint32_t v = t_.order[i];
        const uint32_t p = m_.parent[v];
        const float* gp = &gamma[size_t(p) * k];
        const float* u = &up[size_t(v) * k];
        for (uint32_t zp = 0; zp < k; ++zp) a[zp] = gp[zp] / u[zp];
        std::fill(g.begin(), g.end(), 0.0f);
        const float* t = &m_.trans[v * kk];
        for (uint32_t zp = 0; zp < k; ++zp) {
          const float w = a[zp];
          const float* row = t + size_t(zp) * k;
          for (uint32_t c = 0; c < k; ++c) g[c] += w * row[c];
        }
        const float* b = &beta[size_t(v) * k];
        float* gv = &gamma[size_t(v) * k];
        for (uint32_t c = 0; c < k; ++c) gv[c] = b[c] * g[c];
        float* o = &out->outer[v * kk];
        for (uint32_t zp = 0; zp < k; ++zp) {
          const float w = a[zp];
          float* row = o + size_t(zp) * k;
          for (uint32_t c = 0; c < k; ++c) row[c] += w * b[c];
        }
        float* lacc = &out->leaf[(size_t(v) * nv + x[v]) * k];
        for (uint32_t z = 0; z < k; ++z) lacc[z] += gv[z];
      }
    }
  }

 private:
  const Hclt& m_;
  const TreeOrder& t_;
  uint32_t k_;
  std::vector<float> tt_;
};

}  // namespace

Status train_hclt(const uint8_t* records, size_t n, uint32_t vars, uint32_t values, const TrainOptions& opt,
                  Hclt* out) {
  if (n == 0) return Error(ErrorCode::kInvalidArgument, "train: no training records");
  if (vars < 2 || vars > kMaxVars) return Error(ErrorCode::kInvalidArgument, "train: records must have 2 to 65536 values");
  if (values < 2 || values > kMaxValues) return Error(ErrorCode::kInvalidArgument, "train: values must be 2 to 256");
  if (opt.latent < 1 || opt.latent > kMaxLatent) return Error(ErrorCode::kInvalidArgument, "train: --latent must be 1 to 256");
  const uint64_t params = uint64_t(opt.latent) + uint64_t(vars) * opt.latent * (opt.latent + values);
  if (params > kMaxParams) return Error(ErrorCode::kInvalidArgument, "train: the model would be too large");
  for (size_t i = 0; i < n * vars; ++i)
    if (records[i] >= values) return Error(ErrorCode::kInvalidArgument, "train: a value is out of range");
  Hclt m;
  m.vars = vars;
  m.values = values;
  m.latent = opt.latent;
  {
    const std::vector<float> mi = mutual_information(records, n, vars, values, opt);
    m.parent = chow_liu_tree(mi, vars);
  }
  TreeOrder tree;
  SIBYL_RETURN_IF_ERROR(tree.build(m.parent));
  m.allocate();
  initialise(records, n, opt, &m);

  const uint32_t k = m.latent, nv = values;
  const size_t kk = size_t(k) * k;
  const size_t jobs = (n + kChunk - 1) / kChunk;
  const size_t wave = static_cast<size_t>(std::max(1, opt.threads));
  std::vector<double> outer(size_t(vars) * kk), leaf(size_t(vars) * nv * k), prior(k);
  // Mini-batch EM: each batch's expected counts give an estimate of the
  // parameters, and the parameters move a step towards it (step 1 and one
  // batch of all records is classic EM).
  const size_t batch_jobs = opt.batch == 0 ? jobs : std::max<size_t>(1, (opt.batch + kChunk - 1) / kChunk);
  std::vector<Counts> counts(std::min({wave, jobs, batch_jobs}));
  for (uint32_t epoch = 0; epoch < opt.epochs; ++epoch) {
    double bits = 0;
    for (size_t b0 = 0; b0 < jobs; b0 += batch_jobs) {
      const size_t b1 = std::min(jobs, b0 + batch_jobs);
      std::fill(outer.begin(), outer.end(), 0.0);
      std::fill(leaf.begin(), leaf.end(), 0.0);
      std::fill(prior.begin(), prior.end(), 0.0);
      const EStep estep(m, tree);
      for (size_t j0 = b0; j0 < b1; j0 += counts.size()) {
        const size_t nj = std::min(counts.size(), b1 - j0);
        run_parallel(nj, opt.threads, [&](size_t w) {
          const size_t first = (j0 + w) * kChunk;
          estep.run(records + first * vars, std::min(kChunk, n - first), &counts[w]);
        });
        for (size_t w = 0; w < nj; ++w) {  // job order
          for (size_t i = 0; i < outer.size(); ++i) outer[i] += counts[w].outer[i];
          for (size_t i = 0; i < leaf.size(); ++i) leaf[i] += counts[w].leaf[i];
          for (uint32_t z = 0; z < k; ++z) prior[z] += counts[w].prior[z];
          bits += counts[w].bits;
        }
      }
      // M-step, pseudocounts in proportion to the batch.
      const double share = static_cast<double>(std::min(n, b1 * kChunk) - b0 * kChunk) / static_cast<double>(n);
      const double tp = opt.trans_pseudocount * share, lp = opt.leaf_pseudocount * share;
      const double step = b0 == 0 && epoch == 0 ? 1.0 : opt.step;
      auto blend = [&](float* dst, double estimate) {
        *dst = std::max(kMinParam, static_cast<float>((1 - step) * *dst + step * estimate));
      };
      const uint32_t root = m.root();
      for (uint32_t v = 0; v < vars; ++v) {
        if (v != root) {
          for (uint32_t zp = 0; zp < k; ++zp) {
            float* t = &m.trans[v * kk + size_t(zp) * k];
            const double* o = &outer[v * kk + size_t(zp) * k];
            double c[kMaxLatent], sum = 0;
            for (uint32_t zc = 0; zc < k; ++zc) sum += c[zc] = t[zc] * o[zc] + tp;
            for (uint32_t zc = 0; zc < k; ++zc) blend(&t[zc], c[zc] / sum);
          }
        }
        for (uint32_t z = 0; z < k; ++z) {
          float* l = &m.leaf[m.leaf_offset(v) + size_t(z) * nv];
          double sum = 0;
          for (uint32_t x = 0; x < nv; ++x) sum += leaf[(size_t(v) * nv + x) * k + z] + lp;
          for (uint32_t x = 0; x < nv; ++x) blend(&l[x], (leaf[(size_t(v) * nv + x) * k + z] + lp) / sum);
        }
      }
      double sum = 0;
      for (uint32_t z = 0; z < k; ++z) sum += prior[z] + tp;
      for (uint32_t z = 0; z < k; ++z) blend(&m.prior[z], (prior[z] + tp) / sum);
    }
    if (opt.progress) opt.progress(opt.progress_ctx, epoch + 1, bits / (static_cast<double>(n) * vars));
  }
  *out = std::move(m);
  return Status::Ok();
}

}  // namespace sibyl::pc
