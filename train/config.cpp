#include "train/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "data/class_datasets.h"
#include "data/reid_datasets.h"
#include "engine/device.h"
#include "models/registry.h"

namespace ptl {

namespace {
std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string s;
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? sep : "") + parts[i];
  return s;
}
}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::string model_help =
      "model: " + join(model_names(), ", ") + " (`ptl info --model NAME`: its layers)";
  static const std::vector<ConfigKey> keys = {
      {"seed", "0",
       "seed of every random stream (weights, sampling, augmentation, BConv-Cell states)",
       "int>=0"},
      {"threads", "0", "CPU threads (0: PTL_NUM_THREADS or all cores)", "int>=0"},
      {"memory_limit_mb", "0",
       "CPU memory ptl's tensors may hold, in MiB; past it a run stops with a message instead of "
       "being killed "
       "(0: 95% of what the machine, or its cgroup, has available when the run starts)",
       "int>=0"},
      {"device", "cpu", "cpu or cuda[:N]", "device"},
      {"tf32", "false",
       "CUDA: let float GEMMs and convolutions use TF32 tensor cores (faster, ~1e-3 relative "
       "error)",
       "bool"},
      {"cudnn_heuristics", "false",
       "CUDA: convolutions take cuDNN's backend-API engines under the same rules, the legacy "
       "algorithms the fallback (not yet measured on a GPU; docs/cuda.md)",
       "bool"},
      {"model.name", "resnet50", model_help.c_str(), "model"},
      {"model.num_classes", "0",
       "classifier outputs (0: the number of training identities or classes)", "int>=0"},
      {"model.ptl", "carry",
       "side branch: carry (state kept across batches), reset_every_batch, off (baseline), or "
       "release (the authors' script: carry in epoch 1, reset every batch after)",
       "enum:carry|reset_every_batch|off|release"},
      {"model.state_init", "normal", "BConv-Cell initial state: normal (N(0, 0.001^2)) or zeros",
       "enum:normal|zeros"},
      {"model.last_stride", "auto",
       "stride of the last ResNet stage: 1 or 2 (auto: 1 for ReID, the field's convention; 2, the "
       "network's own, for classification)",
       "enum:auto|1|2"},
      {"model.pretrained", "",
       "weights to start from: safetensors, a checkpoint or a .pth of torch.save, with ptl's, "
       "torchvision's or the release's names (docs/deploy.md); empty: random init",
       ""},
      {"model.pretrained_partial", "false",
       "start from model.pretrained even when fewer than half of the model's tensors match it "
       "(false: that stops, as weights of another model would)",
       "bool"},
      {"model.freeze", "[]", "parameter-name prefixes to freeze, e.g. [conv1, bn1, layer1]",
       "strings"},
      {"data.format", "market1501", "dataset format (ptl dataset --help lists them)", "format"},
      {"data.root", "", "dataset folder", ""},
      {"data.height", "384", "input height", "int>=1"},
      {"data.width", "128", "input width", "int>=1"},
      {"data.sampler", "pk",
       "pk (torchreid's: nearly every image once per epoch, P x K per batch), pk_release (the "
       "PTL/MGN release: "
       "every identity once per epoch, P x K per batch) or shuffle (batches of data.batch_size)",
       "enum:pk|pk_release|shuffle"},
      {"data.p", "4", "identities per PK batch", "int>=1"},
      {"data.k", "4", "images per identity in a PK batch", "int>=1"},
      {"data.batch_size", "64", "batch size of the shuffled sampler and of evaluation", "int>=1"},
      {"data.workers", "2", "loader threads", "int>=0"},
      {"data.flip", "0.5", "horizontal flip probability", "num0..1"},
      {"data.pad", "0", "zero padding before a random crop back to size (0: no crop)", "int>=0"},
      {"data.erasing", "0.5", "random erasing probability", "num0..1"},
      {"data.classes", "[]",
       "classification: keep these classes, relabelled 0, 1, ... in this order ([]: all)",
       "ints>=0"},
      {"data.per_class", "0",
       "classification: train on the first N images of each class, in file order (0: all)",
       "int>=0"},
      {"data.on_bad_image", "error", "error or skip (counted warning)", "enum:error|skip"},
      {"data.msmt17_train_val", "false",
       "MSMT17: train on list_train + list_val (32,621 images) instead of list_train alone "
       "(30,248, torchreid's and fast-reid's default)",
       "bool"},
      {"optim.name", "adam", "adam, adamw or sgd", "enum:adam|adamw|sgd"},
      {"optim.lr", "2e-4", "base learning rate", "num>0"},
      {"optim.side_lr", "0", "learning rate of the side branch (0: optim.lr)", "num>=0"},
      {"optim.weight_decay", "5e-4", "weight decay (L2 for adam/sgd, decoupled for adamw)",
       "num>=0"},
      {"optim.amsgrad", "true", "AMSGrad variant of Adam", "bool"},
      {"optim.momentum", "0.9", "SGD momentum", "num0..1"},
      {"optim.nesterov", "false", "SGD Nesterov momentum", "bool"},
      {"schedule.kind", "multistep", "multistep, cosine or constant",
       "enum:multistep|cosine|constant"},
      {"schedule.milestones", "[320, 360]",
       "multistep decay points (epochs, or iterations if per_iteration)", "ints>=0"},
      {"schedule.gamma", "0.1", "multistep decay factor", "num>0"},
      {"schedule.t_max", "400", "cosine period", "int>=1"},
      {"schedule.eta_min", "0", "cosine floor", "num>=0"},
      {"schedule.per_iteration", "false", "count schedule time in iterations instead of epochs",
       "bool"},
      {"schedule.warmup_iters", "0", "linear warm-up iterations", "int>=0"},
      {"schedule.warmup_factor", "0.1", "warm-up starting factor", "num0..1"},
      {"loss.kind", "mgn", "mgn (triplet on global features + mean CE), ce, or ce_triplet",
       "enum:mgn|ce|ce_triplet"},
      {"loss.margin", "1.2", "triplet margin (0: soft margin)", "num>=0"},
      {"loss.label_smoothing", "0", "cross-entropy label smoothing", "num0..1"},
      {"train.epochs", "400", "training epochs", "int>=1"},
      {"train.eval_every", "40", "evaluate every N epochs (0: only at the end)", "int>=0"},
      {"train.log_every", "20", "log every N iterations", "int>=1"},
      {"train.checkpoint_every", "1", "checkpoint every N epochs", "int>=1"},
      {"train.keep_last", "3", "checkpoints kept besides the best", "int>=1"},
      {"train.out", "runs/default",
       "output folder: checkpoints, config.yaml, train.log, metrics.jsonl, best.safetensors", ""},
      {"train.max_iters_per_epoch", "0", "cap iterations per epoch (0: the whole epoch)", "int>=0"},
      {"train.precision", "float32",
       "float32, or bf16: convolutions and linear layers multiply bf16-rounded inputs and "
       "weights, accumulating in float32 (CPU or CUDA; everything else, the weights and "
       "checkpoints stay float32)",
       "enum:float32|bf16"},
      {"train.cuda_graphs", "false",
       "CUDA: replay each step's forward, loss and backward as one CUDA graph once its shape "
       "has been seen (device cuda, one process, model.ptl carry or off; not yet run on a GPU)",
       "bool"},
      {"eval.metric", "euclidean", "euclidean, sqeuclidean or cosine",
       "enum:euclidean|sqeuclidean|cosine"},
      {"eval.rerank", "false", "k-reciprocal re-ranking", "bool"},
      {"eval.flip", "true", "average the features of the image and its flip", "bool"},
      {"dist.sync_bn", "false",
       "data parallel: batch norm with the statistics of the whole batch over all processes "
       "instead of each process's shard",
       "bool"},
      {"dist.timeout_s", "1800",
       "data parallel: a rank that waits this long for the others (one stuck, or rank 0 "
       "evaluating) ends the job; 0: no limit",
       "num>=0"},
      {"study.seeds", "0-9", "ptl study: the seeds when --seeds is not given (0-9, 3 or 0,2,5)",
       ""},
      {"study.pretrain", "[]",
       "ptl study: the source stage's overrides when --pretrain is not given ([]: none)",
       "strings"},
      {"study.arms", "[]",
       "ptl study: the arms (NAME:key=value,...) when no --arm is given; the first is the "
       "reference",
       "strings"},
  };
  return keys;
}

namespace {
// Flattens a YAML mapping into dotted keys; sequences and scalars are leaves.
void flatten(const YAML::Node& n, const std::string& prefix,
             std::map<std::string, std::string>& out, const std::string& what) {
  if (n.IsMap()) {
    for (const auto& kv : n) {
      // `{[a, b]: 1}` is valid YAML; as<std::string>() would throw yaml-cpp's own exception.
      PTL_CHECK(kv.first.IsScalar(), what, ": keys must be plain names (",
                prefix.empty() ? "top level" : prefix, " has a list or mapping as a key)");
      flatten(kv.second, prefix.empty() ? kv.first.Scalar() : prefix + "." + kv.first.Scalar(), out,
              what);
    }
    return;
  }
  PTL_CHECK(!prefix.empty(), what, ": the top level must be a mapping of keys");
  YAML::Emitter e;
  e << YAML::Flow << n;
  out[prefix] = n.IsScalar() ? n.Scalar() : e.c_str();
}

// Levenshtein distance: how many single-character edits turn a into b.
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The help for a key that is not declared: the nearest declared key when a typo explains it,
// and the keys of its section (or the sections), so the one line shows what is allowed.
std::string unknown_key_help(const std::string& key) {
  const ConfigKey* nearest = nullptr;
  size_t best = 3;  // more than two edits away is not a typo
  for (const ConfigKey& k : config_keys()) {
    const size_t d = edit_distance(key, k.key);
    if (d < best) best = d, nearest = &k;
  }
  const size_t dot = key.find('.');
  const std::string section = dot == std::string::npos ? "" : key.substr(0, dot + 1);
  std::vector<std::string> in_section, sections;
  for (const ConfigKey& k : config_keys()) {
    const std::string name = k.key;
    if (!section.empty() && name.rfind(section, 0) == 0)
      in_section.push_back(name.substr(section.size()));
    const std::string top = name.substr(0, name.find('.'));
    if (std::find(sections.begin(), sections.end(), top) == sections.end()) sections.push_back(top);
  }
  return (nearest ? str("did you mean '", nearest->key, "'? ") : std::string()) +
         (in_section.empty()
              ? "allowed at the top level: " + join(sections, ", ")
              : "keys under " + section.substr(0, dot) + ": " + join(in_section, ", "));
}

const ConfigKey* find_key(const std::string& key) {
  for (const ConfigKey& k : config_keys())
    if (key == k.key) return &k;
  return nullptr;
}

// The names of an "enum:a|b|c" rule, in order.
std::vector<std::string> enum_names(const std::string& rule) {
  std::vector<std::string> names;
  std::stringstream ss(rule.substr(5));
  for (std::string v; std::getline(ss, v, '|');) names.push_back(v);
  return names;
}

YAML::Node parse_value(const std::string& key, const std::string& v) {
  try {
    return YAML::Load(v.empty() ? "''" : v);
  } catch (const YAML::Exception& e) {
    fail(str("config key '", key, "': cannot parse value '", v, "' (", e.what(), ")"));
  }
}
// What is wrong with `value` under a key's rule (ConfigKey::rule), or "" when it is allowed.
std::string rule_problem(const std::string& rule, const std::string& key,
                         const std::string& value) {
  if (rule.empty()) return "";
  auto one_of = [&](const std::vector<std::string>& allowed) {
    return std::find(allowed.begin(), allowed.end(), value) != allowed.end()
               ? ""
               : "allowed: " + join(allowed, ", ");
  };
  if (rule.rfind("enum:", 0) == 0) return one_of(enum_names(rule));
  if (rule == "model") return one_of(model_names());
  if (rule == "format") {
    data::ReidFormat rf;
    data::ClassFormat cf;
    return data::parse_reid_format(value, rf) || data::parse_class_format(value, cf)
               ? ""
               : "not a dataset format (ptl dataset --help lists them)";
  }
  if (rule == "device") {
    try {
      Device::parse(value);
      return "";
    } catch (const Error&) {
      return "allowed: cpu, cuda, cuda:N";
    }
  }
  try {
    const YAML::Node n = parse_value(key, value);
    if (rule == "bool" || rule == "strings") {  // the conversion throws when the value is not one
      rule == "bool" ? static_cast<void>(n.as<bool>())
                     : static_cast<void>(n.as<std::vector<std::string>>());
      return "";
    }
    if (rule == "ints>=0") {
      for (int64_t v : n.as<std::vector<int64_t>>())
        if (v < 0) return "every entry must be >= 0";
      return "";
    }
    if (rule.rfind("int>=", 0) == 0) {
      const int64_t lo = std::stoll(rule.substr(5));
      return n.as<int64_t>() >= lo ? "" : str("must be an integer >= ", lo);
    }
    const double v = n.as<double>();
    if (rule == "num>0") return v > 0 && std::isfinite(v) ? "" : "must be a number > 0";
    if (rule == "num>=0") return v >= 0 && std::isfinite(v) ? "" : "must be a number >= 0";
    if (rule == "num0..1") return v >= 0 && v <= 1 ? "" : "must be a number from 0 to 1";
  } catch (const YAML::Exception&) {
    return rule == "bool"              ? "must be true or false"
           : rule == "strings"         ? "must be a list like [a, b]"
           : rule == "ints>=0"         ? "must be a list of integers like [320, 360]"
           : rule.rfind("int", 0) == 0 ? "must be an integer"
                                       : "must be a number";
  }
  fail(str("config key '", key, "' has an unknown rule '", rule, "'"));
}
}  // namespace

Config::Config() {
  for (const ConfigKey& k : config_keys()) values_[k.key] = k.value;
}

Config Config::from_yaml(const std::string& text, const std::string& what) {
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail(ptl::str(what, ": invalid YAML: ", e.what()));
  }
  Config c;
  if (doc.IsNull()) return c;
  std::map<std::string, std::string> flat;
  flatten(doc, "", flat, what);
  for (const auto& [k, v] : flat) c.set(k, v, what);
  return c;
}

Config Config::from_file(const std::string& path) {
  return from_file_depth(path, 0);
}

Config Config::from_file_depth(const std::string& path, int depth) {
  PTL_CHECK(depth < 8, path,
            ": configs include each other through `base` more than 8 deep (a cycle?)");
  std::ifstream f(path);
  PTL_CHECK(f.good(), path, ": cannot open the config file");
  std::stringstream ss;
  ss << f.rdbuf();
  YAML::Node doc;
  try {
    doc = YAML::Load(ss.str());
  } catch (const YAML::Exception& e) {
    fail(ptl::str(path, ": invalid YAML: ", e.what()));
  }
  // `base: other.yaml` (relative to this file) is read first; this file's keys override it.
  Config c;
  if (doc.IsMap() && doc["base"]) {
    PTL_CHECK(doc["base"].IsScalar() && !doc["base"].Scalar().empty(), path,
              ": `base` must name a file (base: other.yaml)");
    const std::string base = doc["base"].Scalar();
    const size_t slash = path.rfind('/');
    c = from_file_depth(
        base[0] == '/' || slash == std::string::npos ? base : path.substr(0, slash + 1) + base,
        depth + 1);
    doc.remove("base");
  }
  if (doc.IsNull() || (doc.IsMap() && doc.size() == 0)) return c;
  std::map<std::string, std::string> flat;
  flatten(doc, "", flat, path);
  for (const auto& [k, v] : flat) c.set(k, v, path);
  return c;
}

void Config::set(const std::string& key, const std::string& value, const std::string& what) {
  const ConfigKey* k = find_key(key);
  PTL_CHECK(k, what, ": unknown config key '", key, "'; ", unknown_key_help(key),
            " (ptl train --help explains each)");
  const std::string problem = rule_problem(k->rule, key, value);
  PTL_CHECK(problem.empty(), what, ": ", key, " = '", value, "': ", problem);
  values_[key] = value;
}

void Config::apply_override(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  PTL_CHECK(eq != std::string::npos && eq > 0, "override '", assignment,
            "' must look like key=value");
  set(assignment.substr(0, eq), assignment.substr(eq + 1), "override");
}

const std::string& Config::raw(const std::string& key) const {
  auto it = values_.find(key);
  PTL_CHECK(it != values_.end(), "config: no key '", key, "'");
  return it->second;
}

std::string Config::str(const std::string& key) const {
  return raw(key);
}

int64_t Config::integer(const std::string& key) const {
  try {
    return parse_value(key, raw(key)).as<int64_t>();
  } catch (const YAML::Exception&) {
    fail(ptl::str("config key '", key, "' must be an integer, got '", raw(key), "'"));
  }
}

double Config::number(const std::string& key) const {
  try {
    return parse_value(key, raw(key)).as<double>();
  } catch (const YAML::Exception&) {
    fail(ptl::str("config key '", key, "' must be a number, got '", raw(key), "'"));
  }
}

bool Config::boolean(const std::string& key) const {
  try {
    return parse_value(key, raw(key)).as<bool>();
  } catch (const YAML::Exception&) {
    fail(ptl::str("config key '", key, "' must be true or false, got '", raw(key), "'"));
  }
}

int Config::choice(const std::string& key) const {
  const ConfigKey* k = find_key(key);
  PTL_CHECK(k && std::string(k->rule).rfind("enum:", 0) == 0, "config: key '", key,
            "' is not a choice");
  const std::vector<std::string> names = enum_names(k->rule);
  const auto it = std::find(names.begin(), names.end(), raw(key));
  PTL_CHECK(it != names.end(), "config key '", key, "' = '", raw(key),
            "': allowed: ", join(names, ", "));
  return static_cast<int>(it - names.begin());
}

std::vector<int64_t> Config::int_list(const std::string& key) const {
  try {
    return parse_value(key, raw(key)).as<std::vector<int64_t>>();
  } catch (const YAML::Exception&) {
    fail(ptl::str("config key '", key, "' must be a list of integers like [1, 2], got '", raw(key),
                  "'"));
  }
}

std::vector<std::string> Config::string_list(const std::string& key) const {
  try {
    return parse_value(key, raw(key)).as<std::vector<std::string>>();
  } catch (const YAML::Exception&) {
    fail(ptl::str("config key '", key, "' must be a list like [a, b], got '", raw(key), "'"));
  }
}

std::string Config::canonical(const std::string& key) const {
  YAML::Emitter e;
  e << YAML::Flow << parse_value(key, raw(key));
  return e.c_str();
}

std::vector<ConfigDifference> config_differences(const Config& before, const Config& now) {
  std::vector<ConfigDifference> out;
  for (const ConfigKey& k : config_keys()) {
    std::string a = before.canonical(k.key), b = now.canonical(k.key);
    if (a != b) out.push_back({k.key, std::move(a), std::move(b)});
  }
  return out;
}

std::string Config::to_yaml(bool with_comments) const {
  // Keys are declared grouped by section, so one pass emits each section once.
  std::string out, section;
  for (const ConfigKey& k : config_keys()) {
    const std::string key = k.key;
    const size_t dot = key.find('.');
    const std::string sec = dot == std::string::npos ? "" : key.substr(0, dot);
    const std::string leaf = dot == std::string::npos ? key : key.substr(dot + 1);
    if (sec != section && !sec.empty()) out += sec + ":\n";
    section = sec;
    out += (sec.empty() ? "" : "  ") + leaf + ": " + canonical(key);
    if (with_comments) out += std::string("  # ") + k.help;
    out += "\n";
  }
  return out;
}

}  // namespace ptl
