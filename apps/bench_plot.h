// A small SVG line chart of benchmark throughput against context, for `dsv4 bench --plot`.
#pragma once

#include <string>
#include <vector>

namespace dsv4::apps {

struct PlotSeries {
  std::string name;
  std::string color;
  std::vector<double> y;
};

// Writes an SVG with x = `x` values (log scale when they span more than a factor of 8).
void write_svg_plot(const std::string& path, const std::string& title, const std::vector<double>& x,
                    const std::vector<PlotSeries>& series, const std::string& y_label);

}  // namespace dsv4::apps
