#include "data/synth_render.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "data/seed.h"

namespace ptl::data {

namespace {
float uni(Generator& g, float lo, float hi) {
  return lo + (hi - lo) * static_cast<float>(g.uniform());
}

Rgb shade(Rgb c, float k) {
  return {c.r * k, c.g * k, c.b * k};
}

Rgb hsv(float h, float s, float v) {
  const float i = std::floor(h * 6.f), f = h * 6.f - i;
  const float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
  switch (static_cast<int>(i) % 6) {
    case 0:
      return {v, t, p};
    case 1:
      return {q, v, p};
    case 2:
      return {p, v, t};
    case 3:
      return {p, q, v};
    case 4:
      return {t, p, v};
    default:
      return {v, p, q};
  }
}

// Clothing: about a third black/grey/white (as in street scenes), the rest any hue.
Rgb clothing(Generator& g) {
  if (g.uniform() < 0.3) {
    static const float levels[] = {0.07f, 0.18f, 0.4f, 0.62f, 0.88f};
    const float v = levels[g.randint(5)] + uni(g, -0.03f, 0.03f);
    return {v, v, v};
  }
  return hsv(uni(g, 0, 1), uni(g, 0.35f, 0.95f), uni(g, 0.3f, 0.95f));
}

// A float RGB canvas (values 0..1), drawn at twice the output size for smooth edges.
struct Canvas {
  int h, w;
  std::vector<float> px;
  Canvas(int h_, int w_) : h(h_), w(w_), px(static_cast<size_t>(h_) * w_ * 3, 0.f) {}
  float* at(int y, int x) { return &px[(static_cast<size_t>(y) * w + x) * 3]; }
  void put(int y, int x, Rgb c) {
    float* p = at(y, x);
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
  }
  // Pixels whose centres lie in [x0, x1) x [y0, y1) get colour(u, v), u and v in [0, 1).
  template <class F>
  void rect(float x0, float y0, float x1, float y1, const F& colour) {
    const int ya = std::max(0, static_cast<int>(std::ceil(y0 - 0.5f)));
    const int yb = std::min(h, static_cast<int>(std::ceil(y1 - 0.5f)));
    const int xa = std::max(0, static_cast<int>(std::ceil(x0 - 0.5f)));
    const int xb = std::min(w, static_cast<int>(std::ceil(x1 - 0.5f)));
    for (int y = ya; y < yb; ++y)
      for (int x = xa; x < xb; ++x)
        put(y, x, colour((x + 0.5f - x0) / (x1 - x0), (y + 0.5f - y0) / (y1 - y0)));
  }
  void fill(float x0, float y0, float x1, float y1, Rgb c) {
    rect(x0, y0, x1, y1, [c](float, float) { return c; });
  }
  // The part of an ellipse between heights v0 and v1 (0 top, 1 bottom).
  void ellipse(float cx, float cy, float rx, float ry, Rgb c, float v0 = 0.f, float v1 = 1.f) {
    for (int y = std::max(0, static_cast<int>(cy - ry));
         y < std::min(h, static_cast<int>(cy + ry) + 1); ++y)
      for (int x = std::max(0, static_cast<int>(cx - rx));
           x < std::min(w, static_cast<int>(cx + rx) + 1); ++x) {
        const float dx = (x + 0.5f - cx) / rx, dy = (y + 0.5f - cy) / ry, v = (dy + 1) / 2;
        if (dx * dx + dy * dy <= 1.f && v >= v0 && v < v1) put(y, x, c);
      }
  }
};

Rgb upper_colour(const Person& p, int view, float u, float v) {
  const auto cell = [](float t, float period) {
    return static_cast<int>(std::floor(t / period)) & 1;
  };
  switch (p.pattern) {
    case 1:
      return cell(v, p.period) ? p.top2 : p.top;
    case 2:
      return cell(u, p.period * 1.4f) ? p.top2 : p.top;
    case 3:
      return (cell(u, p.period * 1.4f) ^ cell(v, p.period)) ? p.top2 : p.top;
    case 4:
      return v < 0.5f ? p.top : p.top2;
    case 5:
      return view == 0 && std::fabs(u - 0.5f) < 0.2f && v > 0.2f && v < 0.5f ? p.top2 : p.top;
    default:
      return p.top;
  }
}

// The person with feet near top + ph, centred on cx, shoulders bw wide. view: 0 front, 1 back,
// 2 side (facing `dir` = +1 right / -1 left); phase in [-1, 1] swings arms and legs.
void draw_person(Canvas& cv, const Person& p, float cx, float top, float ph, float bw, int view,
                 int dir, float phase) {
  const auto Y = [&](float f) { return top + f * ph; };
  const float t0 = 0.17f, t1 = t0 + p.torso, feet = 0.94f;
  const bool side = view == 2;
  // Legs and shoes.
  const float legw = 0.42f * bw, swing = (side ? 0.32f : 0.05f) * bw * phase;
  for (int leg = -1; leg <= 1; leg += 2) {
    const float x = cx + leg * (side ? 0.05f : 0.24f) * bw + leg * swing;
    const float knee = p.lower == 1 ? t1 + 0.13f : (p.lower == 2 ? t1 + 0.2f : feet);
    cv.fill(x - legw / 2, Y(t1 - 0.02f), x + legw / 2, Y(knee), p.bottom);
    cv.fill(x - legw * 0.4f, Y(knee), x + legw * 0.4f, Y(feet), p.skin);
    const float toe = side ? dir * 0.12f * bw : 0.f;
    cv.fill(x - legw * 0.55f + toe, Y(feet), x + legw * 0.55f + toe, Y(0.99f), p.shoes);
  }
  if (p.lower == 2)  // skirt over the legs
    cv.fill(cx - 0.55f * bw, Y(t1 - 0.02f), cx + 0.55f * bw, Y(t1 + 0.2f), p.bottom);
  // Arms: sleeves then skin (short sleeves) and a hand.
  const float armw = 0.17f * bw;
  const auto arm = [&](float x) {
    const float sleeve = p.long_sleeves ? t1 - 0.03f : t0 + 0.1f;
    cv.fill(x - armw / 2, Y(t0 + 0.01f), x + armw / 2, Y(sleeve), p.top);
    cv.fill(x - armw * 0.4f, Y(sleeve), x + armw * 0.4f, Y(t1 - 0.03f), p.skin);
    cv.fill(x - armw * 0.45f, Y(t1 - 0.03f), x + armw * 0.45f, Y(t1 + 0.02f), p.skin);
  };
  if (side) {
    arm(cx - dir * swing * 0.6f);
  } else {
    arm(cx - bw / 2 - armw / 2);
    arm(cx + bw / 2 + armw / 2);
  }
  // Torso with the clothing pattern (side view: narrower).
  const float tw = side ? 0.6f * bw : bw;
  cv.rect(cx - tw / 2, Y(t0), cx + tw / 2, Y(t1),
          [&](float u, float v) { return upper_colour(p, view, u, v); });
  // Bags: a backpack covers the back, shows straps in front and a slab on the side.
  if (p.bag_kind == 1) {
    if (view == 1) {
      cv.fill(cx - 0.38f * bw, Y(t0 + 0.03f), cx + 0.38f * bw, Y(t1 - 0.06f), p.bag);
    } else if (view == 0) {
      for (int s = -1; s <= 1; s += 2)
        cv.fill(cx + s * 0.27f * bw - 0.04f * bw, Y(t0), cx + s * 0.27f * bw + 0.04f * bw,
                Y(t0 + 0.18f), p.bag);
    } else {
      const float back = cx - dir * tw / 2;
      cv.fill(std::min(back, back - dir * 0.3f * bw), Y(t0 + 0.03f),
              std::max(back, back - dir * 0.3f * bw), Y(t1 - 0.08f), p.bag);
    }
  } else if (p.bag_kind == 2) {
    const float x = cx + (view == 1 ? -1 : 1) * 0.62f * bw;
    cv.fill(x - 0.17f * bw, Y(t1 - 0.1f), x + 0.17f * bw, Y(t1 + 0.05f), p.bag);
  }
  // Neck, head, hair, hat.
  const float hy = Y(0.09f), ry = 0.075f * ph, rx = (side ? 0.3f : 0.34f) * bw;
  cv.fill(cx - 0.1f * bw, Y(0.14f), cx + 0.1f * bw, Y(t0 + 0.01f), p.skin);
  if (p.long_hair && view != 0) cv.fill(cx - rx, hy, cx + rx, Y(t0 + 0.12f), p.hair);
  cv.ellipse(cx, hy, rx, ry, view == 1 ? p.hair : p.skin);
  cv.ellipse(cx, hy, rx, ry, p.hair, 0.f, view == 1 ? 1.f : 0.42f);
  if (side) cv.ellipse(cx - dir * 0.3f * rx, hy, rx * 0.75f, ry, p.hair, 0.f, 0.8f);
  if (p.long_hair && view == 0)
    for (int s = -1; s <= 1; s += 2)
      cv.fill(cx + s * rx * 0.8f - 0.1f * bw, hy, cx + s * rx * 0.8f + 0.1f * bw, Y(0.2f), p.hair);
  if (p.has_hat) cv.fill(cx - rx * 1.1f, Y(0.005f), cx + rx * 1.1f, Y(0.055f), p.hat);
}

void draw_background(Canvas& cv, const Camera& cam, Generator& g) {
  const float jitter = uni(g, 0.92f, 1.08f), hz = (cam.horizon + uni(g, -0.05f, 0.05f)) * cv.h;
  const Rgb sky = shade(cam.sky, jitter), ground = shade(cam.ground, jitter);
  cv.rect(0, 0, cv.w, hz, [&](float, float v) { return shade(sky, 1.1f - 0.25f * v); });
  cv.fill(0, hz, cv.w, cv.h, ground);
  if (cam.texture == 1) {  // columns / windows at a camera-fixed period, panned per image
    const float period = 0.35f * cv.w, phase = uni(g, 0, period);
    for (float x = -phase; x < cv.w; x += period)
      cv.fill(x, 0, x + 0.12f * cv.w, hz, shade(sky, 0.75f));
  } else if (cam.texture == 2) {  // parked objects: a few blocks near the horizon
    for (int k = 0, n = 2 + static_cast<int>(g.randint(3)); k < n; ++k) {
      const float x = uni(g, -0.2f, 1.f) * cv.w, bw = uni(g, 0.15f, 0.5f) * cv.w,
                  bh = uni(g, 0.08f, 0.25f) * cv.h;
      cv.fill(x, hz - bh, x + bw, hz + 0.05f * cv.h,
              shade(k % 2 ? sky : ground, uni(g, 0.5f, 1.3f)));
    }
  } else if (cam.texture == 3) {  // speckled ground (gravel, leaves)
    for (int y = static_cast<int>(hz); y < cv.h; y += 4)
      for (int x = 0; x < cv.w; x += 4)
        cv.fill(x, y, x + 4, y + 4, shade(ground, uni(g, 0.8f, 1.2f)));
  }
}

void draw_occluder(Canvas& cv, Generator& g) {
  const Rgb c = shade(clothing(g), 0.8f);
  if (g.uniform() < 0.5) {  // a car, a railing or a bench in front of the legs
    const float y = uni(g, 0.6f, 0.82f) * cv.h;
    cv.rect(0, y, cv.w, cv.h,
            [&](float u, float) { return shade(c, 0.9f + 0.2f * (static_cast<int>(u * 6) & 1)); });
  } else {  // a pole or a passer-by at one side
    const float wdt = uni(g, 0.15f, 0.32f) * cv.w;
    const float x = g.uniform() < 0.5 ? 0.f : cv.w - wdt;
    cv.fill(x, 0, x + wdt, cv.h, c);
  }
}

// Separable Gaussian blur of an interleaved RGB float image in place.
void blur(std::vector<float>& px, int h, int w, float sigma) {
  if (sigma < 0.2f) return;
  const int r = std::max(1, static_cast<int>(std::ceil(2.5f * sigma)));
  std::vector<float> k(2 * r + 1);
  float total = 0;
  for (int i = -r; i <= r; ++i) total += k[i + r] = std::exp(-0.5f * i * i / (sigma * sigma));
  for (float& v : k) v /= total;
  std::vector<float> tmp(px.size());
  for (int pass = 0; pass < 2; ++pass) {
    const int n = pass == 0 ? w : h;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) {
          float acc = 0;
          for (int i = -r; i <= r; ++i) {
            const int t = std::clamp((pass == 0 ? x : y) + i, 0, n - 1);
            acc +=
                k[i + r] *
                px[((pass == 0 ? static_cast<size_t>(y) * w + t : static_cast<size_t>(t) * w + x)) *
                       3 +
                   c];
          }
          tmp[(static_cast<size_t>(y) * w + x) * 3 + c] = acc;
        }
    px.swap(tmp);
  }
}
}  // namespace

Person Person::random(Generator& g) {
  Person p;
  const float tone = uni(g, 0, 1);
  p.skin = {0.95f - 0.5f * tone, 0.78f - 0.48f * tone, 0.68f - 0.46f * tone};
  static const Rgb hairs[] = {
      {0.05f, 0.04f, 0.03f}, {0.25f, 0.15f, 0.08f}, {0.6f, 0.45f, 0.25f}, {0.55f, 0.55f, 0.55f}};
  p.hair = hairs[g.randint(4)];
  p.top = clothing(g);
  p.top2 = clothing(g);
  p.bottom = clothing(g);
  p.shoes = g.uniform() < 0.5 ? Rgb{0.1f, 0.1f, 0.1f} : clothing(g);
  p.bag = clothing(g);
  p.hat = clothing(g);
  p.pattern = static_cast<int>(g.randint(6));
  p.period = uni(g, 0.12f, 0.3f);
  p.lower = static_cast<int>(g.uniform() < 0.7 ? 0 : 1 + g.randint(2));
  p.bag_kind = static_cast<int>(g.randint(3));
  p.long_sleeves = g.uniform() < 0.6;
  p.long_hair = g.uniform() < 0.3;
  p.has_hat = g.uniform() < 0.15;
  p.height = uni(g, 0.9f, 1.f);
  p.width = uni(g, 0.85f, 1.15f);
  p.torso = uni(g, 0.33f, 0.4f);
  return p;
}

Camera Camera::make(bool target, int index) {
  Generator g(mix_seed(target ? 0x7A56E7 : 0x50C5CE, static_cast<uint64_t>(index)));
  Camera c;
  if (!target) {  // source: evenly lit, greyish urban backgrounds, large sharp people
    c.scale_lo = uni(g, 0.8f, 0.86f);
    c.scale_hi = c.scale_lo + 0.1f;
    const float gain = uni(g, 0.8f, 1.2f);
    c.cast = {gain * uni(g, 0.9f, 1.1f), gain * uni(g, 0.9f, 1.1f), gain * uni(g, 0.9f, 1.1f)};
    c.gamma = uni(g, 0.9f, 1.1f);
    const float grey = uni(g, 0.45f, 0.75f);
    c.sky = {grey * uni(g, 0.9f, 1.1f), grey * uni(g, 0.9f, 1.1f), grey * uni(g, 0.9f, 1.1f)};
    c.ground = shade(c.sky, uni(g, 0.6f, 0.9f));
    c.blur = uni(g, 0.f, 0.6f);
    c.occlusion = uni(g, 0.03f, 0.12f);
    c.noise = uni(g, 1.5f, 3.5f);
  } else {  // target: dark or tinted light, green/snowy scenes, smaller blurrier people, more
            // occluders
    c.scale_lo = uni(g, 0.68f, 0.78f);
    c.scale_hi = c.scale_lo + 0.14f;
    const float gain = uni(g, 0.55f, 1.25f);
    c.cast = {gain * uni(g, 0.8f, 1.2f), gain * uni(g, 0.8f, 1.2f), gain * uni(g, 0.8f, 1.2f)};
    c.gamma = uni(g, 0.75f, 1.3f);
    c.sky = g.uniform() < 0.5 ? hsv(uni(g, 0.2f, 0.45f), uni(g, 0.3f, 0.6f), uni(g, 0.3f, 0.6f))
                              : Rgb{0.85f, 0.87f, 0.9f};
    c.ground = hsv(uni(g, 0, 1), uni(g, 0.05f, 0.3f), uni(g, 0.25f, 0.7f));
    c.blur = uni(g, 0.4f, 1.3f);
    c.occlusion = uni(g, 0.15f, 0.35f);
    c.noise = uni(g, 3.f, 7.f);
  }
  c.shift = uni(g, 0.03f, 0.1f);
  c.aspect = uni(g, 0.88f, 1.12f);
  c.horizon = uni(g, 0.55f, 0.8f);
  c.texture = static_cast<int>(g.randint(4));
  const float front = uni(g, 0.1f, 0.7f), back = uni(g, 0.1f, 0.9f - front);
  c.view[0] = front;
  c.view[1] = back;
  c.view[2] = 1.f - front - back;
  return c;
}

Image render_shot(const Person& p, const Camera& cam, Shot shot, int h, int w, Generator& g) {
  Canvas cv(2 * h, 2 * w);
  draw_background(cv, cam, g);
  if (shot != Shot::Clutter) {
    float ph = uni(g, cam.scale_lo, cam.scale_hi) * p.height * cv.h;
    float cx = (0.5f + uni(g, -cam.shift, cam.shift)) * cv.w;
    float top = (cv.h - ph) * uni(g, 0.3f, 0.7f);
    if (shot == Shot::Junk) {  // a bad detection: zoomed in on, or cut off from, the person
      ph *= uni(g, 1.5f, 2.5f);
      cx += uni(g, -0.6f, 0.6f) * cv.w;
      top -= uni(g, 0.f, 0.6f) * ph;
    }
    const float u = static_cast<float>(g.uniform());
    const int view = u < cam.view[0] ? 0 : (u < cam.view[0] + cam.view[1] ? 1 : 2);
    const int dir = g.uniform() < 0.5 ? -1 : 1;
    const float bw = 0.27f * ph * p.width * cam.aspect * (cv.w * 2.f / cv.h);
    draw_person(cv, p, cx, top, ph, bw, view, dir, uni(g, -1.f, 1.f));
  }
  if (g.uniform() < cam.occlusion) draw_occluder(cv, g);

  // Down to h x w (2x2 mean), then blur, illumination and sensor noise.
  std::vector<float> px(static_cast<size_t>(h) * w * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        px[(static_cast<size_t>(y) * w + x) * 3 + c] =
            0.25f * (cv.at(2 * y, 2 * x)[c] + cv.at(2 * y, 2 * x + 1)[c] +
                     cv.at(2 * y + 1, 2 * x)[c] + cv.at(2 * y + 1, 2 * x + 1)[c]);
  blur(px, h, w, cam.blur * h / 128.f);
  const float gains[3] = {cam.cast.r, cam.cast.g, cam.cast.b}, flicker = uni(g, 0.94f, 1.06f);
  Image img(h, w, 3);
  // Sensor noise from a xorshift stream seeded by the image's generator (Philox per pixel would
  // dominate the run time): a centred sum of two uniforms, standard deviation cam.noise.
  uint64_t state = g.next_u64() | 1;
  const auto unit = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<float>(state >> 40) * (1.f / 16777216.f);
  };
  for (size_t i = 0; i < px.size(); ++i) {
    const float lit = std::pow(std::clamp(px[i] * gains[i % 3] * flicker, 0.f, 1.f), cam.gamma);
    const float n = (unit() + unit() - 1.f) * cam.noise * 2.45f;
    img.px[i] = static_cast<uint8_t>(std::clamp(lit * 255.f + n, 0.f, 255.f) + 0.5f);
  }
  return img;
}

}  // namespace ptl::data
