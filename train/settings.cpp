#include "train/settings.h"

namespace ptl {

namespace {
template <class E>
E choice(const Config& c, const char* key) {
  return static_cast<E>(c.choice(key));
}
int small(const Config& c, const char* key) {
  return static_cast<int>(c.integer(key));
}
}  // namespace

Settings read_settings(const Config& c) {
  Settings s;
  s.seed = static_cast<uint64_t>(c.integer("seed"));

  s.device.device = Device::parse(c.str("device"));
  s.device.tf32 = c.boolean("tf32");
  s.device.cudnn_heuristics = c.boolean("cudnn_heuristics");
  s.device.threads = small(c, "threads");
  s.device.memory_limit_mb = c.integer("memory_limit_mb");

  s.model.name = c.str("model.name");
  s.model.num_classes = c.integer("model.num_classes");
  s.model.ptl = choice<PtlMode>(c, "model.ptl");
  s.model.state_init = choice<StateInit>(c, "model.state_init");
  s.model.last_stride = c.choice("model.last_stride");  // auto | 1 | 2: the index is the stride
  s.model.pretrained = c.str("model.pretrained");
  s.model.pretrained_partial = c.boolean("model.pretrained_partial");
  s.model.freeze = c.string_list("model.freeze");

  DataSettings& d = s.data;
  d.format = c.str("data.format");
  d.root = c.str("data.root");
  d.height = small(c, "data.height");
  d.width = small(c, "data.width");
  d.sampler = choice<Sampler>(c, "data.sampler");
  d.p = small(c, "data.p");
  d.k = small(c, "data.k");
  d.batch_size = c.integer("data.batch_size");
  d.workers = small(c, "data.workers");
  d.flip = c.number("data.flip");
  d.pad = small(c, "data.pad");
  d.erasing = c.number("data.erasing");
  d.classes = c.int_list("data.classes");
  d.per_class = c.integer("data.per_class");
  d.on_bad_image = choice<data::OnBad>(c, "data.on_bad_image");
  d.msmt17_train_val = c.boolean("data.msmt17_train_val");

  OptimSettings& o = s.optim;
  o.kind = choice<OptimKind>(c, "optim.name");
  o.lr = c.number("optim.lr");
  o.side_lr = c.number("optim.side_lr");
  o.weight_decay = c.number("optim.weight_decay");
  o.amsgrad = c.boolean("optim.amsgrad");
  o.momentum = c.number("optim.momentum");
  o.nesterov = c.boolean("optim.nesterov");

  ScheduleSpec& sc = s.schedule;
  sc.kind = choice<ScheduleKind>(c, "schedule.kind");
  sc.milestones = c.int_list("schedule.milestones");
  sc.gamma = c.number("schedule.gamma");
  sc.t_max = c.integer("schedule.t_max");
  sc.eta_min = c.number("schedule.eta_min");
  sc.per_iteration = c.boolean("schedule.per_iteration");
  sc.warmup_iters = c.integer("schedule.warmup_iters");
  sc.warmup_factor = c.number("schedule.warmup_factor");

  s.loss.kind = choice<LossKind>(c, "loss.kind");
  s.loss.margin = c.number("loss.margin");
  s.loss.label_smoothing = c.number("loss.label_smoothing");

  TrainSettings& t = s.train;
  t.epochs = c.integer("train.epochs");
  t.eval_every = c.integer("train.eval_every");
  t.log_every = c.integer("train.log_every");
  t.checkpoint_every = c.integer("train.checkpoint_every");
  t.keep_last = c.integer("train.keep_last");
  t.out = c.str("train.out");
  t.max_iters_per_epoch = c.integer("train.max_iters_per_epoch");
  t.precision = choice<Precision>(c, "train.precision");
  t.cuda_graphs = c.boolean("train.cuda_graphs");
  PTL_CHECK(!t.cuda_graphs || s.device.device.is_cuda(),
            "config: train.cuda_graphs replays CUDA graphs and needs device: cuda (device is ",
            c.str("device"), "); set train.cuda_graphs=false");
  PTL_CHECK(
      !t.cuda_graphs || s.model.ptl == PtlMode::Carry || s.model.ptl == PtlMode::Off,
      "config: train.cuda_graphs needs model.ptl carry or off (model.ptl=", c.str("model.ptl"),
      " draws fresh BConv-Cell states on the host every batch, which a graph cannot "
      "replay); set train.cuda_graphs=false");

  s.eval.metric = choice<Metric>(c, "eval.metric");
  s.eval.rerank = c.boolean("eval.rerank");
  s.eval.flip = c.boolean("eval.flip");
  s.dist.sync_bn = c.boolean("dist.sync_bn");
  s.dist.timeout_s = c.number("dist.timeout_s");
  return s;
}

}  // namespace ptl
