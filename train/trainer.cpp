#include "train/trainer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>

#include "data/loader.h"
#include "data/seed.h"
#include "engine/atomic_file.h"
#include "engine/autograd.h"
#include "engine/json.h"
#include "engine/ops.h"
#include "engine/parallel.h"
#include "engine/rng.h"
#include "engine/storage.h"
#include "kernels/cpu/isa.h"
#include "layers/bconv_cell.h"
#include "models/registry.h"
#include "models/release_keys.h"
#include "train/checkpoint.h"
#include "train/losses.h"
#include "train/run_log.h"
#include "train/scheduler.h"

namespace ptl {

namespace fs = std::filesystem;

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

// Installs SIGINT/SIGTERM handlers for the lifetime of a run and restores the old ones.
struct SignalScope {
  SignalScope() {
    g_stop = false;
    old_int = std::signal(SIGINT, on_signal);
    old_term = std::signal(SIGTERM, on_signal);
  }
  ~SignalScope() {
    std::signal(SIGINT, old_int);
    std::signal(SIGTERM, old_term);
  }
  void (*old_int)(int);
  void (*old_term)(int);
};

}  // namespace

ModelOptions model_options(const Config& cfg, bool reid, int64_t channels) {
  ModelOptions o;
  o.in_channels = channels;
  // ReID keeps the last stage at stride 1 (a larger final map for retrieval); classification
  // trains the network as published (CIFAR ResNets: 8x8 last stage at 32x32).
  // Values are checked when the config is read (train/config.cpp, ConfigKey::rule).
  const std::string stride = cfg.str("model.last_stride");
  o.last_stride = stride == "auto" ? (reid ? 1 : 2) : std::stoll(stride);
  const std::string mode = cfg.str("model.ptl");
  o.ptl.side_branch = mode != "off";
  o.ptl.state_mode = mode == "reset_every_batch" ? StateMode::ResetEveryBatch : StateMode::Carry;
  o.ptl.state_init = cfg.str("model.state_init") == "zeros" ? StateInit::Zeros : StateInit::Normal;
  return o;
}

namespace {

// How evaluation and `ptl extract` run the model: batch, loader threads, flip, and the seed of
// evaluation's own random stream (the run's seed).
ExtractOptions read_extract_options(const Config& cfg) {
  ExtractOptions eo;
  eo.batch = cfg.integer("data.batch_size");
  eo.workers = static_cast<int>(cfg.integer("data.workers"));
  eo.flip = cfg.boolean("eval.flip");
  eo.seed = static_cast<uint64_t>(cfg.integer("seed"));
  return eo;
}

// Every BConvCell of the model with its dotted name.
std::vector<std::pair<std::string, BConvCell*>> cells(Model& m) {
  std::vector<std::pair<std::string, BConvCell*>> out;
  for (auto& [name, mod] : m.named_modules())
    if (auto* c = dynamic_cast<BConvCell*>(mod)) out.emplace_back(name, c);
  return out;
}

std::string fmt_duration(double s) {
  const long t = static_cast<long>(s);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}
}  // namespace

void Trainer::request_stop() { g_stop = true; }

struct Trainer::StepResult {
  double loss, triplet, ce, accuracy;
};

Trainer::Trainer(Config cfg, const std::string& resume) : cfg_(std::move(cfg)) {
  if (cfg_.integer("threads") > 0) set_num_threads(static_cast<int>(cfg_.integer("threads")));
  PTL_CHECK(Device::parse(cfg_.str("device")).is_cpu() || cuda_device_count() > 0, "config: device '",
            cfg_.str("device"), "' requested but no CUDA device is available",
            cuda_compiled() ? "" : " (this ptl was built without CUDA)", "; use device=cpu");
  set_allow_tf32(cfg_.boolean("tf32"));
  extract_ = read_extract_options(cfg_);
  metric_ = parse_metric(cfg_.str("eval.metric"));
  rerank_ = cfg_.boolean("eval.rerank");
  out_ = cfg_.str("train.out");
  manual_seed(static_cast<uint64_t>(cfg_.integer("seed")));
  data_ = load_task_data(cfg_);
  const int64_t classes = cfg_.integer("model.num_classes") > 0 ? cfg_.integer("model.num_classes") : data_.num_classes;
  model_ = make_model(cfg_.str("model.name"), classes, model_options(cfg_, data_.reid, data_.channels));
  // Moved before anything holds its parameters: weights, optimizer state and checkpoints are
  // then loaded into (and made on) the training device.
  model_->to(Device::parse(cfg_.str("device")));
  if (!cfg_.str("model.pretrained").empty()) load_pretrained(cfg_.str("model.pretrained"));
  for (const std::string& prefix : cfg_.string_list("model.freeze")) {
    int64_t n = 0;
    for (auto& [name, p] : model_->named_parameters())
      if (name.rfind(prefix, 0) == 0) {
        p.impl().requires_grad = false;
        ++n;
      }
    PTL_CHECK(n > 0, "config: model.freeze prefix '", prefix, "' matches no parameter of ", cfg_.str("model.name"));
  }
  build_optimizer();
  std::string from = resume;
  if (from == "auto") {
    auto all = list_checkpoints(out_);
    from = all.empty() ? "" : all.back();
  }
  if (!from.empty()) restore(from);
}

Trainer::~Trainer() = default;

void Trainer::load_pretrained(const std::string& path) {
  // torchvision-named or release-named weights mapped to this model's keys
  // (models/release_keys.h): for MGN and MGN-PTL, layer3.1-5 and layer4 start every branch.
  const MappedState mapped = adapt_state_dict(load_model_weights(path), cfg_.str("model.name"));
  if (!mapped.notice().empty()) note(str("pretrained weights ", path, ": ", mapped.notice()));
  const TensorMap ours = model_->state_dict();
  Module::LoadReport r = model_->load_state_dict(mapped.state, false, path);
  note(str("pretrained weights ", path, ": ", ours.size() - r.missing.size() - r.mismatched.size(), " tensors loaded, ",
           r.missing.size(), " missing (kept at init), ", r.unexpected.size(), " unexpected, ", r.mismatched.size(),
           " shape mismatches skipped (e.g. a classifier for another number of classes)"));
  PTL_CHECK(r.missing.size() + r.mismatched.size() < ours.size(), path, ": no tensor matches model ",
            cfg_.str("model.name"), ":", r.str());
}

void Trainer::build_optimizer() {
  const double lr = cfg_.number("optim.lr"), wd = cfg_.number("optim.weight_decay");
  const double side_lr = cfg_.number("optim.side_lr") > 0 ? cfg_.number("optim.side_lr") : lr;
  ParamGroup backbone{"backbone", {}, lr, lr, wd, false}, side{"side_branch", {}, side_lr, side_lr, wd, false};
  for (auto& [name, p] : model_->named_parameters()) {
    if (!p.requires_grad()) continue;  // frozen
    (name.rfind("ptl.", 0) == 0 ? side : backbone).params.push_back(p);
  }
  std::vector<ParamGroup> groups{backbone};
  if (!side.params.empty()) groups.push_back(side);
  const std::string name = cfg_.str("optim.name");
  if (name == "sgd")
    opt_ = std::make_unique<Sgd>(groups, SgdOptions{cfg_.number("optim.momentum"), 0, cfg_.boolean("optim.nesterov")});
  else if (name == "adam" || name == "adamw")
    opt_ = std::make_unique<Adam>(groups, AdamOptions{0.9, 0.999, 1e-8, cfg_.boolean("optim.amsgrad"), name == "adamw"});
  else
    fail(str("config: unknown optim.name '", name, "': use adam, adamw or sgd"));
}

void Trainer::restore(const std::string& path) {
  Checkpoint c = load_checkpoint(path);
  model_->load_state_dict(c.model, true, path);
  opt_->load_state_dict(c.optim);
  if (c.rng.count("global")) default_generator().set_state(c.rng["global"].first, c.rng["global"].second);
  epoch_ = c.epoch;
  step_ = c.step;
  resume_epoch_step_ = c.epoch_step;
  best_ = c.best;
  resume_states_ = c.states;
  resume_loss_sum_ = c.epoch_loss_sum;
  resume_acc_sum_ = c.epoch_acc_sum;
  last_checkpoint_ = path;
  note(str("resumed from ", path, ": epoch ", epoch_, ", step ", step_, c.epoch_step ? " (mid-epoch)" : ""));
}

void Trainer::note(const std::string& line) {
  std::printf("%s\n", line.c_str());
  notes_.push_back(line);
}

std::string Trainer::save(int64_t epoch_step, double loss_sum, double acc_sum) {
  fs::create_directories(out_);
  Checkpoint c;
  c.model = model_->state_dict();
  c.optim = opt_->state_dict();
  if (epoch_step > 0)
    for (auto& [name, cell] : cells(*model_))
      if (cell->state().defined()) c.states[name] = cell->state();
  c.rng["global"] = {default_generator().seed(), default_generator().offset()};
  c.epoch = epoch_;
  c.step = step_;
  c.epoch_step = epoch_step;
  c.best = best_;
  c.epoch_loss_sum = loss_sum;
  c.epoch_acc_sum = acc_sum;
  c.config_yaml = cfg_.to_yaml();
  const std::string path = out_ + "/" + checkpoint_name(epoch_, step_);
  save_checkpoint(path, c);  // atomic: a failure throws and keeps the previous checkpoints
  prune_checkpoints(out_, cfg_.integer("train.keep_last"));
  last_checkpoint_ = path;
  return path;
}

Trainer::StepResult Trainer::train_step(const Tensor& host_images, const Tensor& host_labels) {
  const Device device = model_->device();
  const Tensor images = host_images.to(device), labels = host_labels.to(device);
  ModelOutput out = model_->forward(images);
  const std::string kind = cfg_.str("loss.kind");
  const double margin = cfg_.number("loss.margin"), ls = cfg_.number("loss.label_smoothing");
  MgnLossResult l;
  if (kind == "mgn" || kind == "ce_triplet") {
    l = mgn_loss(out.triplet.empty() ? std::vector<Tensor>{out.feature} : out.triplet, out.logits, labels, margin, ls);
  } else if (kind == "ce") {
    Tensor ce = cross_entropy(out.logits[0], labels, ls);
    for (size_t i = 1; i < out.logits.size(); ++i) ce = add(ce, cross_entropy(out.logits[i], labels, ls));
    ce = mul(ce, 1.0 / static_cast<double>(out.logits.size()));
    l = {ce, Tensor(), ce, top1_accuracy(out.logits[0], labels)};
  } else {
    fail(str("config: unknown loss.kind '", kind, "': use mgn, ce or ce_triplet"));
  }
  StepResult r{l.loss.item(), l.triplet.defined() ? l.triplet.item() : 0.0, l.cross_entropy.item(), l.accuracy};
  auto num = [](double v) { return std::isnan(v) ? std::string("nan") : str(v); };  // not "-nan"
  if (!std::isfinite(r.loss))
    fail(str("loss is ", num(r.loss), " at epoch ", epoch_ + 1, " step ", step_ + 1, " (triplet ", num(r.triplet),
             ", cross-entropy ", num(r.ce), "); training stopped. Last good checkpoint: ",
             last_checkpoint_.empty() ? "none yet" : last_checkpoint_, ". Lower optim.lr or check the data."));
  opt_->zero_grad();
  l.loss.backward();
  opt_->step();
  return r;
}

data::BatchPlan Trainer::epoch_plan(const std::vector<int64_t>& labels, Generator& rng) const {
  const std::string sampler = cfg_.str("data.sampler");
  const int p = static_cast<int>(cfg_.integer("data.p")), k = static_cast<int>(cfg_.integer("data.k"));
  if (sampler == "pk_release") return data::pk_release_batches(labels, p, k, rng);
  if (sampler == "pk") return data::pk_batches(labels, p, k, rng);
  return data::shuffled_batches(static_cast<int64_t>(labels.size()), cfg_.integer("data.batch_size"), true, rng);
}

ModelScore Trainer::evaluate() {
  if (data_.reid)
    return evaluate_reid_model(*model_, data_.query, data_.gallery, data_.eval_transform, extract_, metric_, rerank_);
  return evaluate_classifier(*model_, data_.test, data_.eval_transform, extract_);
}

TrainSummary Trainer::run() {
  fs::create_directories(out_);
  write_file_atomic(out_ + "/config.yaml", cfg_.to_yaml(true));
  // Lines past the checkpoint (all of them on a fresh start) are written again by this run.
  truncate_metrics(out_, step_);
  const int stale = remove_stale_temporaries(out_);
  // The memory budget (memory_limit_mb): a step that would not fit stops with a message; the
  // kernel's OOM killer would end the process without one.
  struct BudgetScope {
    explicit BudgetScope(size_t bytes) { set_cpu_memory_budget(bytes); }
    ~BudgetScope() { set_cpu_memory_budget(0); }
  } budget([&]() -> size_t {
    if (cfg_.integer("memory_limit_mb") > 0) return static_cast<size_t>(cfg_.integer("memory_limit_mb")) << 20;
    const size_t avail = available_memory_bytes();
    return avail > 0 ? cpu_bytes_in_use() + avail / 20 * 19 : 0;  // 0: unknown, no budget
  }());
  RunLog log(out_);
  if (stale > 0) log.line(str("removed ", stale, " unfinished temporary file(s) that a killed run left in ", out_));
  for (const std::string& n : notes_) log.record(n);  // shown by the constructor
  log.line("effective config (saved to " + out_ + "/config.yaml):\n" + cfg_.to_yaml());
  log.line(data_.description);
  log.line(str("model ", cfg_.str("model.name"), ": ", model_->parameter_count(), " parameters, ", data_.num_classes,
               " classes, ", cells(*model_).empty() ? "no side branch" : "side branch " + cfg_.str("model.ptl")));
  log.line(str("device ", cfg_.str("device"), ", CPU path ", cpu::isa_description(), ", ", num_threads(),
               " threads"));
  SignalScope signals;
  ScheduleSpec sched;
  sched.kind = cfg_.str("schedule.kind");
  sched.milestones = cfg_.int_list("schedule.milestones");
  sched.gamma = cfg_.number("schedule.gamma");
  sched.t_max = cfg_.integer("schedule.t_max");
  sched.eta_min = cfg_.number("schedule.eta_min");
  sched.per_iteration = cfg_.boolean("schedule.per_iteration");
  sched.warmup_iters = cfg_.integer("schedule.warmup_iters");
  sched.warmup_factor = cfg_.number("schedule.warmup_factor");

  const int64_t epochs = cfg_.integer("train.epochs"), log_every = std::max<int64_t>(1, cfg_.integer("train.log_every"));
  const int64_t eval_every = cfg_.integer("train.eval_every"), ckpt_every = std::max<int64_t>(1, cfg_.integer("train.checkpoint_every"));
  const uint64_t seed = static_cast<uint64_t>(cfg_.integer("seed"));
  const std::vector<int64_t> train_labels = data_.train->labels();
  const bool tty = ::isatty(STDOUT_FILENO);
  const auto t0 = std::chrono::steady_clock::now();
  TrainSummary sum;
  ModelScore score;
  bool evaluated_last = false;
  auto eval_due = [&] { return (eval_every > 0 && epoch_ % eval_every == 0) || epoch_ == epochs; };
  // The evaluation after an epoch: logged, and best.safetensors when the score improves.
  auto evaluate_epoch = [&] {
    score = evaluate();
    evaluated_last = true;
    log.line(str("evaluation after epoch ", epoch_, ": ", score.summary()));
    log.metrics(str("{\"epoch\": ", epoch_, ", \"step\": ", step_, ", \"eval\": {", score.json(), "}}"));
    if (score.main() > best_) {
      best_ = score.main();
      save_safetensors(out_ + "/best.safetensors", model_->state_dict(),
                       {{"epoch", std::to_string(epoch_)}, {"score", exact_number(best_)}, {"model", cfg_.str("model.name")}});
      sum.best_path = out_ + "/best.safetensors";
    }
  };
  // An epoch's checkpoint precedes its evaluation: resumed from it, the evaluation is run (again).
  if (step_ > 0 && resume_epoch_step_ == 0 && eval_due()) evaluate_epoch();

  while (epoch_ < epochs) {
    // The epoch's plan and augmentation depend only on (seed, epoch): resumable exactly.
    Generator plan_rng(data::mix_seed(seed, static_cast<uint64_t>(epoch_) + 1));
    data::BatchPlan plan = epoch_plan(train_labels, plan_rng);
    if (cfg_.integer("train.max_iters_per_epoch") > 0 && static_cast<int64_t>(plan.size()) > cfg_.integer("train.max_iters_per_epoch"))
      plan.resize(static_cast<size_t>(cfg_.integer("train.max_iters_per_epoch")));
    PTL_CHECK(!plan.empty(), "the training split gives no batch (", data_.train->size(), " images; ",
              cfg_.str("data.sampler") == "shuffle"
                  ? str("data.sampler=shuffle drops a last batch short of data.batch_size=", cfg_.integer("data.batch_size"))
                  : str("data.sampler=", cfg_.str("data.sampler"), " needs at least ", cfg_.integer("data.p"),
                        " identities with images"),
              ")");
    data::LoaderOptions lo;
    lo.workers = static_cast<int>(cfg_.integer("data.workers"));
    lo.seed = data::mix_seed(seed ^ 0x5eedull, static_cast<uint64_t>(epoch_) + 1);
    lo.pin_memory = model_->device().is_cuda();
    if (data_.bad->policy() == data::OnBad::Skip) lo.bad = data_.bad;
    const int64_t iters = static_cast<int64_t>(plan.size()), bad_before = data_.bad->count();
    data::Loader loader(data_.train, data_.train_transform, plan, lo);

    model_->train();
    model_->reset_state();  // every epoch starts from a fresh BConv-Cell state
    int64_t it = 0;
    data::Batch batch;
    for (; it < resume_epoch_step_ && loader.next(batch); ++it) {
    }
    if (resume_epoch_step_ > 0)
      for (auto& [name, cell] : cells(*model_))
        if (resume_states_.count(name)) cell->set_state(resume_states_[name].clone());
    resume_epoch_step_ = 0;
    // The epoch's averages include the iterations before a mid-epoch resume.
    double loss_sum = resume_loss_sum_, acc_sum = resume_acc_sum_;
    resume_loss_sum_ = resume_acc_sum_ = 0;
    const int64_t first_it = it;
    auto te = std::chrono::steady_clock::now();
    while (loader.next(batch)) {
      const double lr = apply_schedule(sched, *opt_, epoch_, step_);
      StepResult r;
      try {
        r = train_step(batch.images, batch.labels);
      } catch (const OutOfMemoryError& e) {
        fail(str(e.what(), ", at epoch ", epoch_ + 1, " step ", step_ + 1, " with a batch of ", batch.size(), " images of ",
                 cfg_.integer("data.height"), "x", cfg_.integer("data.width"),
                 ": lower the batch (data.p x data.k, or data.batch_size) or the input size, or raise memory_limit_mb"));
      }
      ++it;
      ++step_;
      if (step_hook_) step_hook_(step_, r.loss);
      loss_sum += r.loss;
      acc_sum += r.accuracy;
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - te).count();
      const double ips = static_cast<double>((it - first_it) * batch.size()) / std::max(secs, 1e-9);
      const double eta = secs / static_cast<double>(it - first_it) *
                         static_cast<double>((iters - it) + (epochs - epoch_ - 1) * iters);
      char line[256];
      std::snprintf(line, sizeof line, "epoch %lld/%lld iter %lld/%lld  loss %.4f (triplet %.4f ce %.4f)  acc %.1f%%  lr %.2e  %.1f img/s  eta %s",
                    static_cast<long long>(epoch_ + 1), static_cast<long long>(epochs), static_cast<long long>(it),
                    static_cast<long long>(iters), r.loss, r.triplet, r.ce, 100 * r.accuracy, lr, ips, fmt_duration(eta).c_str());
      if (it % log_every == 0 || it == iters) {
        log.line(line, tty);
        log.metrics(str("{\"epoch\": ", epoch_ + 1, ", \"iter\": ", it, ", \"step\": ", step_, ", \"loss\": ", r.loss,
                        ", \"triplet\": ", r.triplet, ", \"ce\": ", r.ce, ", \"acc\": ", r.accuracy, ", \"lr\": ", lr, "}"));
      } else if (tty) {
        log.progress(line);
      }
      if (g_stop) {
        log.line("stop requested: writing a checkpoint and exiting");
        sum.last_checkpoint = save(it, loss_sum, acc_sum);
        log.line(str("checkpoint ", sum.last_checkpoint));
        log.line(str("interrupted at epoch ", epoch_, " step ", step_, "; resume with --resume ", sum.last_checkpoint));
        sum.interrupted = true;
        sum.epochs = epoch_;
        sum.steps = step_;
        sum.best = best_;
        return sum;
      }
    }
    ++epoch_;
    if (data_.bad->count() > bad_before)
      log.line(str("data.on_bad_image=skip: ", data_.bad->count() - bad_before, " unreadable training images skipped in epoch ",
                   epoch_, ", the last: ", data_.bad->messages().back()));
    log.metrics(str("{\"epoch\": ", epoch_, ", \"step\": ", step_, ", \"epoch_loss\": ", loss_sum / std::max<int64_t>(it, 1),
                    ", \"epoch_acc\": ", acc_sum / std::max<int64_t>(it, 1), "}"));
    evaluated_last = false;
    // The checkpoint comes first, so a failing evaluation costs no training.
    if (epoch_ % ckpt_every == 0 || epoch_ == epochs) log.line(str("checkpoint ", save(0, 0, 0)));
    if (eval_due()) evaluate_epoch();
  }
  if (!evaluated_last) score = evaluate();
  if (data_.held_out_test) {  // scored once, with the final weights; never used to choose best
    sum.held_out_test = evaluate_classifier(*model_, data_.held_out_test, data_.eval_transform, extract_);
    log.line(str("held-out test split after epoch ", epoch_, ": ", sum.held_out_test->summary()));
    log.metrics(str("{\"epoch\": ", epoch_, ", \"step\": ", step_, ", \"held_out_test\": {", sum.held_out_test->json(), "}}"));
  }
  sum.last = score;
  sum.epochs = epoch_;
  sum.steps = step_;
  sum.best = best_;
  sum.last_checkpoint = last_checkpoint_;
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (sum.best_path.empty() && fs::exists(out_ + "/best.safetensors")) sum.best_path = out_ + "/best.safetensors";
  char best[32];
  std::snprintf(best, sizeof best, "%.2f%%", best_);
  log.line(str("done: ", sum.epochs, " epochs, ", sum.steps, " steps in ", fmt_duration(sum.seconds), "; final ",
               score.summary(), "; best ", best, " (", sum.best_path, ")"));
  return sum;
}

}  // namespace ptl
