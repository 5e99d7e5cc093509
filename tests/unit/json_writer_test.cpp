#include "cats/util/json_writer.hpp"
#include "cats/core/fixed.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace cats {
namespace {

TEST(JsonWriter, WritesCompactAndPretty) {
  json_writer j;
  j.begin_object()
      .key("a")
      .value(int64_t{1})
      .key("b")
      .begin_array()
      .value("x")
      .value(true)
      .null()
      .end_array()
      .key("c")
      .number(fixed_text(150'000'000))
      .key("d")
      .begin_object()
      .end_object()
      .end_object();
  EXPECT_EQ(j.str(), R"({"a":1,"b":["x",true,null],"c":1.5,"d":{}})");
  json_writer p(2);
  p.begin_object().key("k").value(int64_t{2}).end_object();
  EXPECT_EQ(p.str(), "{\n  \"k\": 2\n}");
}

TEST(JsonWriter, EscapesStrings) {
  std::string out;
  json_writer::escape("a\"b\\c\nd\x01", out);
  EXPECT_EQ(out, R"("a\"b\\c\nd\u0001")");
}

TEST(JsonWriter, NumbersAreDeterministicAndNeverInvalid) {
  EXPECT_EQ(json_writer::format_double(0.1), "0.1");
  EXPECT_EQ(json_writer::format_double(1.23456789, 6), "1.234568");
  EXPECT_EQ(json_writer::format_double(2.5, 6), "2.5");
  EXPECT_EQ(json_writer::format_double(-0.0), "0");
  EXPECT_EQ(json_writer::format_double(-0.0000001, 6), "0");
  EXPECT_EQ(json_writer::format_double(NAN), "null");
  EXPECT_EQ(json_writer::format_double(INFINITY, 6), "null");
}

}  // namespace
}  // namespace cats
