#include "apps/bench_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/atomic_file.h"

namespace dsv4::apps {

void write_svg_plot(const std::string& path, const std::string& title, const std::vector<double>& x,
                    const std::vector<PlotSeries>& series, const std::string& y_label) {
  constexpr double kW = 720, kH = 420, kLeft = 70, kRight = 150, kTop = 40, kBottom = 50;
  const double x_min = *std::min_element(x.begin(), x.end()),
               x_max = *std::max_element(x.begin(), x.end());
  const bool log_x = x_max > 8 * x_min;
  double y_max = 0;
  for (const PlotSeries& s : series)
    for (double v : s.y) y_max = std::max(y_max, v);
  y_max = y_max > 0 ? y_max * 1.1 : 1;
  auto px = [&](double v) {
    const double f = x_max == x_min ? 0.5
                                    : (log_x ? std::log(v / x_min) / std::log(x_max / x_min)
                                             : (v - x_min) / (x_max - x_min));
    return kLeft + f * (kW - kLeft - kRight);
  };
  auto py = [&](double v) { return kH - kBottom - v / y_max * (kH - kTop - kBottom); };
  std::string svg;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                "font-family=\"sans-serif\" "
                "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                "<text x=\"%.0f\" y=\"24\" font-size=\"15\">%s</text>\n",
                kW, kH, kLeft, title.c_str());
  svg += buf;
  std::snprintf(buf, sizeof buf,
                "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n"
                "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n",
                kLeft, kH - kBottom, kW - kRight, kH - kBottom, kLeft, kTop, kLeft, kH - kBottom);
  svg += buf;
  for (int i = 0; i <= 4; ++i) {
    const double v = y_max * i / 4;
    std::snprintf(buf, sizeof buf, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.1f</text>\n",
                  kLeft - 6, py(v) + 4, v);
    svg += buf;
  }
  for (double v : x) {
    std::snprintf(buf, sizeof buf,
                  "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">%.0f</text>\n", px(v),
                  kH - kBottom + 16, v);
    svg += buf;
  }
  std::snprintf(buf, sizeof buf,
                "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">context (tokens)</text>\n"
                "<text x=\"16\" y=\"%.0f\" transform=\"rotate(-90 16 %.0f)\" "
                "text-anchor=\"middle\">%s</text>\n",
                (kLeft + kW - kRight) / 2, kH - 12, (kTop + kH - kBottom) / 2,
                (kTop + kH - kBottom) / 2, y_label.c_str());
  svg += buf;
  for (size_t s = 0; s < series.size(); ++s) {
    std::string points;
    for (size_t i = 0; i < x.size() && i < series[s].y.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%.1f,%.1f ", px(x[i]), py(series[s].y[i]));
      points += buf;
    }
    std::snprintf(buf, sizeof buf,
                  "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n"
                  "<text x=\"%.0f\" y=\"%.0f\" fill=\"%s\">%s</text>\n",
                  series[s].color.c_str(), points.c_str(), kW - kRight + 10,
                  kTop + 18.0 * static_cast<double>(s), series[s].color.c_str(),
                  series[s].name.c_str());
    svg += buf;
  }
  svg += "</svg>\n";
  AtomicFileWriter out(path);
  out.write(svg.data(), svg.size());
  out.commit();
}

}  // namespace dsv4::apps
