#include "train/trainer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "base/parallel.h"
#include "base/text.h"
#include "data/loader.h"
#include "data/seed.h"
#include "dist/communicator.h"
#include "engine/atomic_file.h"
#include "engine/autograd.h"
#include "engine/json.h"
#include "engine/ops.h"
#include "engine/rng.h"
#include "engine/storage.h"
#include "kernels/cpu/isa.h"
#include "layers/bconv_cell.h"
#include "train/checkpoint.h"
#include "train/losses.h"
#include "train/run_log.h"
#include "train/scheduler.h"
#include "train/step_graph.h"

namespace ptl {

namespace fs = std::filesystem;

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) {
  g_stop = true;
}

// Installs the stop handlers for the lifetime of a run and restores the old ones: SIGINT and
// SIGTERM, and SIGUSR1, which mpirun forwards to every rank when `ptl train --nproc` is stopped
// (cli/train.cpp).
struct SignalScope {
  SignalScope() {
    g_stop = false;
    old_int = std::signal(SIGINT, on_signal);
    old_term = std::signal(SIGTERM, on_signal);
    old_usr1 = std::signal(SIGUSR1, on_signal);
  }
  ~SignalScope() {
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
    std::signal(SIGUSR1, old_usr1);
  }
  void (*old_int)(int);
  void (*old_term)(int);
  void (*old_usr1)(int);
};

// The memory budget (memory_limit_mb) for the lifetime of a run: a step that would not fit stops
// with a message; the kernel's OOM killer would end the process without one.
struct BudgetScope {
  explicit BudgetScope(int64_t limit_mb) {
    const size_t avail = available_memory_bytes();
    set_cpu_memory_budget(limit_mb > 0 ? static_cast<size_t>(limit_mb) << 20
                          : avail > 0  ? cpu_bytes_in_use() + avail / 20 * 19
                                       : 0);  // 0: unknown, no budget
  }
  ~BudgetScope() { set_cpu_memory_budget(0); }
};

// Test-only (tests/dist_kill.sh): PTL_TEST_FAIL_AT=RANK:STEP:throw|hang makes that rank throw
// an error, or stop answering, after that step, as a failing or stuck process would.
void test_failure(int rank, int64_t step) {
  static const char* spec = std::getenv("PTL_TEST_FAIL_AT");
  if (!spec) return;
  int r = -1;
  long long s = -1;
  char what[8] = {};
  if (std::sscanf(spec, "%d:%lld:%7s", &r, &s, what) != 3 || r != rank || s != step) return;
  if (std::string(what) == "hang")
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  fail(str("test failure at step ", step, " (PTL_TEST_FAIL_AT)"));
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The backbone and the side branch ("ptl.*", optim.side_lr) as two groups; frozen parameters
// are left out.
std::unique_ptr<Optimizer> make_optimizer(Model& model, const OptimSettings& o) {
  const double side_lr = o.side_lr > 0 ? o.side_lr : o.lr;
  ParamGroup backbone{"backbone", {}, o.lr, o.lr, o.weight_decay, false};
  ParamGroup side{"side_branch", {}, side_lr, side_lr, o.weight_decay, false};
  for (auto& [name, p] : model.named_parameters()) {
    if (!p.requires_grad()) continue;  // frozen
    (name.rfind("ptl.", 0) == 0 ? side : backbone).params.push_back(p);
  }
  std::vector<ParamGroup> groups{backbone};
  if (!side.params.empty()) groups.push_back(side);
  if (o.kind == OptimKind::Sgd)
    return std::make_unique<Sgd>(groups, SgdOptions{o.momentum, 0, o.nesterov});
  return std::make_unique<Adam>(
      groups, AdamOptions{0.9, 0.999, 1e-8, o.amsgrad, o.kind == OptimKind::AdamW});
}

// The step's loss: mgn and ce_triplet, triplet on the global features plus the mean
// cross-entropy of the classifiers; ce, the mean cross-entropy alone.
MgnLossResult step_loss(const ModelOutput& out, const Tensor& labels, const LossSettings& l) {
  if (l.kind != LossKind::Ce)
    return mgn_loss(out.triplet.empty() ? std::vector<Tensor>{out.feature} : out.triplet,
                    out.logits, labels, l.margin, l.label_smoothing);
  Tensor ce = cross_entropy(out.logits[0], labels, l.label_smoothing);
  for (size_t i = 1; i < out.logits.size(); ++i)
    ce = add(ce, cross_entropy(out.logits[i], labels, l.label_smoothing));
  ce = mul(ce, 1.0 / static_cast<double>(out.logits.size()));
  return {ce, Tensor(), ce, out.logits[0].detach(), labels};
}

}  // namespace

void Trainer::request_stop() {
  g_stop = true;
}

Trainer::Trainer(Config cfg, const RunStart& start)
    : Trainer(std::move(cfg), start, dist::world()) {}

Trainer::Trainer(Config cfg, const RunStart& start, dist::Communicator& comm)
    : folder_(prepare_run_folder(cfg, start, comm.rank() == 0)),
      resume_command_(start.resume_command),
      exp_(std::move(cfg), comm),
      s_(exp_.settings()),
      opt_(make_optimizer(exp_.model(), s_.optim)),
      train_labels_(exp_.data().train->labels()),
      // Under mpirun a rank's stdout is a pseudo-terminal whatever mpirun's own output is: ranks
      // draw in place only when `ptl train --nproc` says its output is a terminal.
      tty_(::isatty(STDOUT_FILENO) &&
           (comm.size() == 1 || std::getenv("PTL_PROGRESS_IN_PLACE") != nullptr)),
      dp_(comm, exp_.model()) {
  notes_ = folder_.notes;
  std::string from = folder_.checkpoint;
  if (dp_.size() > 1) {
    // Every rank reads what rank 0 found (a shared folder may still be listing a new file).
    dp_.comm().set_timeout(s_.dist.timeout_s);
    from = dist::broadcast_text(dp_.comm(), from);
    check_data_parallel();
  }
  PTL_CHECK(!s_.train.cuda_graphs || dp_.size() == 1,
            "train.cuda_graphs replays one process's step; data parallelism (", dp_.size(),
            " processes) reduces gradients inside it: set train.cuda_graphs=false");
  if (s_.train.cuda_graphs) {
    std::vector<Tensor> trained;
    for (auto& [name, p] : model().named_parameters())
      if (p.requires_grad()) trained.push_back(p);
    step_graph_ = std::make_unique<StepGraph>(model(), std::move(trained));
  }
  if (!from.empty()) restore(folder_.loaded ? *folder_.loaded : load_checkpoint(from), from);
  folder_.loaded.reset();  // its tensors are in the model and the optimizer now
  if (dp_.size() > 1) dp_.broadcast_model();
  if (dp_.size() > 1 && s_.dist.sync_bn) dp_.synchronise_batch_norm();
}

void Trainer::check_data_parallel() {
  dp_.check_same_job(exp_.config().to_yaml());
  const int w = dp_.size();
  const DataSettings& d = s_.data;
  if (d.sampler != Sampler::Shuffle && s_.loss.kind != LossKind::Ce)
    PTL_CHECK(d.p >= 2 * w, "data.p=", d.p, " identities per batch over ", w,
              " ranks leave a rank fewer than 2, and the batch-hard triplet loss needs 2 on each; "
              "raise data.p to at least ",
              2 * w, " or use fewer processes");
  if (d.sampler == Sampler::Shuffle)
    PTL_CHECK(d.batch_size >= w, "data.batch_size=", d.batch_size, " is smaller than the ", w,
              " ranks; raise it or use fewer processes");
}

Trainer::~Trainer() = default;

void Trainer::restore(const Checkpoint& c, const std::string& path) {
  const Module::LoadReport loaded = model().load_state_dict(c.model, true, path);
  opt_->load_state_dict(c.optim);
  if (c.rng.count("global"))
    default_generator().set_state(c.rng.at("global").first, c.rng.at("global").second);
  epoch_ = c.epoch;
  step_ = c.step;
  resume_epoch_step_ = c.epoch_step;
  best_ = c.best;
  resume_states_ = c.states;
  resume_loss_sum_ = c.epoch_loss_sum;
  resume_acc_sum_ = c.epoch_acc_sum;
  last_checkpoint_ = path;
  const std::string line = str("resumed from ", path, ": epoch ", epoch_, ", step ", step_,
                               c.epoch_step ? " (mid-epoch)" : "",
                               loaded.from_bf16 ? "; " + loaded.conversion_note(path) : "");
  if (dp_.rank() != 0) return;  // rank 0 speaks for the job
  std::printf("%s\n", line.c_str());
  notes_.push_back(line);
}

std::string Trainer::save_checkpoint(int64_t epoch_step, double loss_sum, double acc_sum) {
  fs::create_directories(s_.train.out);
  Checkpoint c;
  c.model = model().state_dict();
  c.optim = opt_->state_dict();
  if (epoch_step > 0)
    for (auto& [name, cell] : bconv_cells(model()))
      if (cell->state().defined())
        c.states[name] = dp_.size() > 1 ? dp_.gather_rows(cell->state()) : cell->state();
  c.rng["global"] = {default_generator().seed(), default_generator().offset()};
  c.epoch = epoch_;
  c.step = step_;
  c.epoch_step = epoch_step;
  c.best = best_;
  c.epoch_loss_sum = loss_sum;
  c.epoch_acc_sum = acc_sum;
  c.config_yaml = exp_.config().to_yaml();
  const std::string path = s_.train.out + "/" + checkpoint_name(epoch_, step_);
  if (dp_.rank() == 0) {
    ptl::save_checkpoint(path, c);  // atomic: a failure throws and keeps the previous ones
    prune_checkpoints(s_.train.out, s_.train.keep_last);
  }
  last_checkpoint_ = path;
  return path;
}

StepResult Trainer::train_step(const Tensor& host_images, const Tensor& host_labels) {
  const Device device = model().device();
  // A bf16 run's loader writes bfloat16 batches (train_epoch), so no float32 copy of a batch
  // exists.
  PTL_CHECK(s_.train.precision != Precision::BF16 || host_images.dtype() == DType::BF16,
            "train step: a bf16 run takes bfloat16 batches (data::LoaderOptions::images), got ",
            dtype_name(host_images.dtype()));
  // The triplet loss checks CPU labels itself; device labels are checked on their host copy
  // here (reading them on the device would cost a wait, and a graph cannot capture it).
  if (device.is_cuda() && s_.loss.kind != LossKind::Ce)
    check_triplet_labels(host_labels.to_int_vector());
  PrecisionScope precision(s_.train.precision);  // the forward's; each backward keeps its op's
  const auto forward_loss = [this](const Tensor& images, const Tensor& labels) {
    return step_loss(model().forward(images), labels, s_.loss);
  };
  // train.cuda_graphs: after the warm-up steps (they fill the caches of cuDNN plans, pooling
  // tables and library handles that a capture cannot create), steps of the captured shape
  // replay forward, loss and backward; the others run eagerly.
  std::string why_eager = step_graph_ ? step_graph_->why_eager(host_images, host_labels) : "";
  if (step_graph_ && !step_graph_->captured() && eager_steps_ < kGraphWarmupSteps)
    why_eager = "warm-up step";
  const bool graphed = step_graph_ && why_eager.empty();
  const MgnLossResult l = graphed ? step_graph_->run(host_images, host_labels, forward_loss)
                                  : forward_loss(host_images.to(device), host_labels.to(device));
  if (step_graph_) {
    ++(graphed ? epoch_replays_ : epoch_eager_);
    if (!graphed) graph_eager_why_ = why_eager;
  }
  if (!graphed) ++eager_steps_;
  StepResult r{l.loss.item(), l.triplet.defined() ? l.triplet.item() : 0.0, l.cross_entropy.item(),
               l.accuracy()};
  if (dp_.size() > 1) {  // the whole batch's means (a NaN on any rank is a NaN on all)
    std::vector<double> v{r.loss, r.triplet, r.ce, r.accuracy};
    dp_.weighted_sum(v, batch_share_);
    r = {v[0], v[1], v[2], v[3]};
  }
  auto num = [](double v) { return std::isnan(v) ? std::string("nan") : str(v); };  // not "-nan"
  if (!std::isfinite(r.loss))
    fail(str("loss is ", num(r.loss), " at epoch ", epoch_ + 1, " step ", step_ + 1, " (triplet ",
             num(r.triplet), ", cross-entropy ", num(r.ce),
             "); training stopped. Last good checkpoint: ",
             last_checkpoint_.empty() ? "none yet" : last_checkpoint_,
             ". Lower optim.lr or check the data."));
  if (!graphed) {  // a replay has run the backward already
    opt_->zero_grad();
    if (dp_.size() > 1) dp_.prepare_gradients(batch_share_);
    l.loss.backward();
    if (dp_.size() > 1) dp_.reduce_gradients();
  }
  opt_->step();
  if (dp_.size() > 1) dp_.broadcast_buffers();
  return r;
}

data::BatchPlan Trainer::epoch_plan(int64_t epoch) const {
  const DataSettings& d = s_.data;
  const std::vector<int64_t>& labels = train_labels_;
  Generator rng(data::mix_seed(s_.seed, static_cast<uint64_t>(epoch) + 1));
  data::BatchPlan plan =
      d.sampler == Sampler::PkRelease ? data::pk_release_batches(labels, d.p, d.k, rng)
      : d.sampler == Sampler::Pk
          ? data::pk_batches(labels, d.p, d.k, rng)
          : data::shuffled_batches(static_cast<int64_t>(labels.size()), d.batch_size, true, rng);
  const int64_t cap = s_.train.max_iters_per_epoch;
  if (cap > 0 && static_cast<int64_t>(plan.size()) > cap) plan.resize(static_cast<size_t>(cap));
  PTL_CHECK(
      !plan.empty(), "the training split gives no batch (", labels.size(), " images; ",
      d.sampler == Sampler::Shuffle
          ? str("data.sampler=shuffle drops a last batch short of data.batch_size=", d.batch_size)
          : str("data.sampler=", exp_.config().str("data.sampler"), " needs at least ", d.p,
                " identities with images"),
      ")");
  return plan;
}

bool Trainer::evaluation_due() const {
  return (s_.train.eval_every > 0 && epoch_ % s_.train.eval_every == 0) ||
         epoch_ == s_.train.epochs;
}

void Trainer::evaluate_after_epoch(RunLog& log, TrainSummary& sum) {
  if (dp_.rank() != 0) return;  // the other ranks wait for it at the next collective
  sum.last = exp_.evaluate();
  evaluated_last_ = true;
  log.line(str("evaluation after epoch ", epoch_, ": ", sum.last.summary()));
  log.metrics(
      {{"epoch", str(epoch_)}, {"step", str(step_)}, {"eval", "{" + sum.last.json() + "}"}});
  if (sum.last.main() <= best_) return;
  best_ = sum.last.main();
  sum.best_path = s_.train.out + "/best.safetensors";
  save_safetensors(sum.best_path, model().state_dict(),
                   {{"epoch", std::to_string(epoch_)},
                    {"score", exact_number(best_)},
                    {"model", s_.model.name}});
}

void Trainer::open_log(RunLog& log, int stale_temporaries) {
  const Config& cfg = exp_.config();
  if (stale_temporaries > 0)
    log.line(str("removed ", stale_temporaries,
                 " unfinished temporary file(s) that a killed run left in ", s_.train.out));
  for (const std::string& n : exp_.notes()) log.record(n);  // printed when they happened
  for (const std::string& n : notes_) log.record(n);
  log.line("effective config (saved to " + s_.train.out + "/config.yaml):\n" + cfg.to_yaml());
  log.line(exp_.data().description);
  log.line(str("model ", s_.model.name, ": ", exp_.model().parameter_count(), " parameters, ",
               exp_.data().num_classes, " classes, ",
               bconv_cells(exp_.model()).empty() ? "no side branch"
                                                 : "side branch " + cfg.str("model.ptl")));
  log.line(str("device ", cfg.str("device"), ", CPU path ", cpu::isa_description(), ", ",
               num_threads(), " threads, precision ", precision_name(s_.train.precision)));
  if (dp_.size() > 1)
    log.line(str("data-parallel: ", dp_.size(), " processes (", dp_.comm().name(),
                 "), each a shard of every batch; the log and the checkpoints are rank 0's, the "
                 "loss and accuracy the whole batch's"));
}

void Trainer::log_step(RunLog& log, const StepResult& r, double lr, int64_t it, int64_t iters,
                       const Pace& pace) const {
  const int64_t epochs = s_.train.epochs;
  const double ips = static_cast<double>(pace.steps * pace.batch) / std::max(pace.seconds, 1e-9);
  const double eta = pace.seconds / static_cast<double>(pace.steps) *
                     static_cast<double>((iters - it) + (epochs - epoch_ - 1) * iters);
  char line[256];
  std::snprintf(line, sizeof line,
                "epoch %lld/%lld iter %lld/%lld  loss %.4f (triplet %.4f ce %.4f)  acc %.1f%%  "
                "lr %.2e  %.1f img/s  data wait %.0f%%  eta %s",
                static_cast<long long>(epoch_ + 1), static_cast<long long>(epochs),
                static_cast<long long>(it), static_cast<long long>(iters), r.loss, r.triplet, r.ce,
                100 * r.accuracy, lr, ips, 100 * pace.waited / std::max(pace.seconds, 1e-9),
                fmt_duration(eta).c_str());
  if (it % s_.train.log_every == 0 || it == iters) {
    log.line(line, tty_);
    log.metrics({{"epoch", str(epoch_ + 1)},
                 {"iter", str(it)},
                 {"step", str(step_)},
                 {"loss", str(r.loss)},
                 {"triplet", str(r.triplet)},
                 {"ce", str(r.ce)},
                 {"acc", str(r.accuracy)},
                 {"lr", str(lr)}});
  } else if (tty_) {
    log.progress(line);
  }
}

bool Trainer::train_epoch(RunLog& log, TrainSummary& sum) {
  const TaskData& data = exp_.data();
  const data::BatchPlan whole = epoch_plan(epoch_);
  // This rank's shard of every batch: whole identities for the PK samplers.
  data::BatchPlan plan = whole;
  std::vector<int64_t> positions;
  if (dp_.size() > 1)
    plan = data::shard_batches(whole, s_.data.sampler == Sampler::Shuffle ? 1 : s_.data.k,
                               dp_.rank(), dp_.size(), positions);
  data::LoaderOptions lo;
  lo.workers = s_.data.workers;
  lo.seed = data::mix_seed(s_.seed ^ 0x5eedull,
                           static_cast<uint64_t>(epoch_) + 1);  // augmentation: (seed, epoch)
  lo.pin_memory = model().device().is_cuda();
  if (s_.train.precision == Precision::BF16) lo.images = DType::BF16;  // no float32 batch
  if (data.bad->policy() == data::OnBad::Skip) lo.bad = data.bad;
  lo.positions = positions;
  const int64_t iters = static_cast<int64_t>(plan.size()), bad_before = data.bad->count();
  data::Loader loader(data.train, data.train_transform, plan, lo);

  model().train();
  model().reset_state();  // every epoch starts from a fresh BConv-Cell state
  const auto model_cells = bconv_cells(model());  // walked once, not at every step
  for (auto& [name, cell] : model_cells) cell->spec().mode = epoch_state_mode(s_.model.ptl, epoch_);
  // A mid-epoch resume: skip the batches already trained on, restore the carried states and the
  // epoch's sums so far.
  int64_t it = 0;
  data::Batch batch;
  for (; it < resume_epoch_step_ && loader.next(batch); ++it) {
  }
  if (resume_epoch_step_ > 0)
    for (auto& [name, cell] : model_cells) {
      if (!resume_states_.count(name)) continue;
      Tensor st = resume_states_[name];
      if (dp_.size() > 1)  // this rank's rows of the previous batch
        st = narrow(st, 0, positions[static_cast<size_t>(it - 1)],
                    static_cast<int64_t>(plan[static_cast<size_t>(it - 1)].size()));
      cell->set_state(st.clone());
    }
  resume_epoch_step_ = 0;
  double loss_sum = resume_loss_sum_, acc_sum = resume_acc_sum_;
  resume_loss_sum_ = resume_acc_sum_ = 0;

  const int64_t first_it = it;
  const auto started = std::chrono::steady_clock::now();
  double waited = 0;  // seconds the steps waited for the loader: data-bound when large
  for (;;) {
    const auto asked = std::chrono::steady_clock::now();
    if (!loader.next(batch)) break;
    waited += seconds_since(asked);
    const double lr = apply_schedule(s_.schedule, *opt_, epoch_, step_);
    if (dp_.size() > 1) {
      const size_t b = static_cast<size_t>(it);
      batch_share_ = static_cast<double>(plan[b].size()) / static_cast<double>(whole[b].size());
      for (auto& [name, cell] : model_cells)
        cell->set_batch_rows(positions[b], static_cast<int64_t>(whole[b].size()));
    }
    StepResult r;
    try {
      r = train_step(batch.images, batch.labels);
    } catch (const OutOfMemoryError& e) {
      fail(str(e.what(), ", at epoch ", epoch_ + 1, " step ", step_ + 1, " with a batch of ",
               batch.size(), " images of ", s_.data.height, "x", s_.data.width,
               ": lower the batch (data.p x data.k, or data.batch_size) or the input size, or "
               "raise memory_limit_mb"));
    }
    ++it;
    ++step_;
    if (step_hook_) step_hook_(step_, r.loss);
    test_failure(dp_.rank(), step_);
    loss_sum += r.loss;
    acc_sum += r.accuracy;

    const int64_t images =
        dp_.size() > 1 ? static_cast<int64_t>(whole[it - 1].size()) : batch.size();
    log_step(log, r, lr, it, iters, {it - first_it, images, seconds_since(started), waited});
    if (dp_.size() > 1 ? dist::any_rank(dp_.comm(), g_stop) : g_stop.load()) {
      log.line("stop requested: writing a checkpoint and exiting");
      sum.last_checkpoint = save_checkpoint(it, loss_sum, acc_sum);
      log.line(str("checkpoint ", sum.last_checkpoint));
      // Numbered as the progress lines are: epoch E/N iter I/M.
      log.line(str("interrupted at epoch ", epoch_ + 1, " iter ", it, "/", iters, " (step ", step_,
                   "); resume with: ",
                   resume_command_.empty() ? "--resume " + shell_quote(sum.last_checkpoint)
                                           : resume_command_));
      return false;
    }
  }
  for (auto& [name, cell] : model_cells) cell->set_batch_rows(0, 0);  // evaluation: all local
  end_epoch(log, it, loss_sum, acc_sum, bad_before);
  return true;
}

void Trainer::end_epoch(RunLog& log, int64_t iters, double loss_sum, double acc_sum,
                        int64_t bad_before) {
  const data::BadInput& bad = *exp_.data().bad;
  ++epoch_;
  if (bad.count() > bad_before)
    log.line(str(
        "data.on_bad_image=skip: ", count_of(bad.count() - bad_before, "unreadable training image"),
        " skipped in epoch ", epoch_, ", the last: ", bad.messages().back()));
  if (step_graph_) {
    log.line(str("train.cuda_graphs: ", count_of(epoch_replays_, "step"), " of epoch ", epoch_,
                 " replayed the graph",
                 epoch_eager_
                     ? str(", ", epoch_eager_, " ran eagerly (the last: ", graph_eager_why_, ")")
                     : ""));
    epoch_replays_ = epoch_eager_ = 0;
  }
  const double n = static_cast<double>(std::max<int64_t>(iters, 1));
  log.metrics({{"epoch", str(epoch_)},
               {"step", str(step_)},
               {"epoch_loss", str(loss_sum / n)},
               {"epoch_acc", str(acc_sum / n)}});
  evaluated_last_ = false;
  // The checkpoint comes first, so a failing evaluation costs no training.
  if (epoch_ % s_.train.checkpoint_every == 0 || epoch_ == s_.train.epochs)
    log.line(str("checkpoint ", save_checkpoint(0, 0, 0)));
}

void Trainer::finish(RunLog& log, TrainSummary& sum, double seconds) {
  const TaskData& data = exp_.data();
  if (dp_.rank() != 0) return;
  if (!evaluated_last_) sum.last = exp_.evaluate();
  if (data.held_out_test) {  // scored once, with the final weights; never used to choose best
    sum.held_out_test = evaluate_classifier(model(), data.held_out_test, data.eval_transform,
                                            exp_.extract_options());
    log.line(str("held-out test split after epoch ", epoch_, ": ", sum.held_out_test->summary()));
    log.metrics({{"epoch", str(epoch_)},
                 {"step", str(step_)},
                 {"held_out_test", "{" + sum.held_out_test->json() + "}"}});
  }
  sum.last_checkpoint = last_checkpoint_;
  sum.seconds = seconds;
  if (sum.best_path.empty() && fs::exists(s_.train.out + "/best.safetensors"))
    sum.best_path = s_.train.out + "/best.safetensors";
  char best[32];
  std::snprintf(best, sizeof best, "%.2f%%", best_);
  log.line(str("done: ", count_of(epoch_, "epoch"), ", ", count_of(step_, "step"), " in ",
               fmt_duration(seconds), "; final ", sum.last.summary(), "; best ", best, " (",
               sum.best_path, ")"));
}

TrainSummary Trainer::run() {
  const std::string& out = s_.train.out;
  const bool writer = dp_.rank() == 0;  // data parallelism: rank 0 writes the run's files
  int stale = 0;
  if (writer) {
    fs::create_directories(out);
    write_file_atomic(out + "/config.yaml",
                      folder_.checkpoint.empty()
                          ? exp_.config().to_yaml(true)
                          : config_file_text(out, exp_.config(), folder_.history));
    truncate_metrics(out, step_);  // lines past the checkpoint (all on a fresh start) come again
    stale = remove_stale_temporaries(out);
  }
  BudgetScope budget(s_.device.memory_limit_mb);
  RunLog log = writer ? RunLog(out) : RunLog::silent();
  open_log(log, stale);
  if (!folder_.changes.empty()) {  // accepted on purpose: the metrics say where the config changed
    std::string changes;
    for (const ConfigDifference& d : folder_.changes)
      changes += str(changes.empty() ? "" : ", ", json_quote(d.key), ": [", json_quote(d.before),
                     ", ", json_quote(d.now), "]");
    log.metrics(
        {{"epoch", str(epoch_)}, {"step", str(step_)}, {"config_change", "{" + changes + "}"}});
  }
  SignalScope signals;
  const auto started = std::chrono::steady_clock::now();
  TrainSummary sum;
  evaluated_last_ = false;
  // An epoch's checkpoint precedes its evaluation: resumed from it, the evaluation is run (again).
  if (step_ > 0 && resume_epoch_step_ == 0 && evaluation_due()) evaluate_after_epoch(log, sum);
  while (epoch_ < s_.train.epochs) {
    if (!train_epoch(log, sum)) {
      sum.interrupted = true;
      break;
    }
    if (evaluation_due()) evaluate_after_epoch(log, sum);
  }
  if (!sum.interrupted) finish(log, sum, seconds_since(started));
  sum.epochs = epoch_;
  sum.steps = step_;
  sum.best = best_;
  return sum;
}

}  // namespace ptl
