// GET /api/v1/schedules/preview (docs/tasks.md, "Schedules"): the next fires of a cron
// expression in a time zone, as the scheduler computes them, under the fixture's manual clock.
#include <string>

#include <gmock/gmock.h>

#include "control/api/api_fixture.h"

namespace hecs::control::api::test {
namespace {
namespace json = boost::json;
using ::testing::HasSubstr;

class SchedulePreview : public ApiFixture {
 protected:
  // The fixture does not percent-decode: spaces are written as they are.
  Reply preview(const std::string& query, const Cred& cred) {
    return get("/api/v1/schedules/preview?" + query, cred);
  }
  static std::vector<std::string> times(const Reply& r) {
    std::vector<std::string> out;
    for (const auto& t : r.body.at("next").as_array()) {
      out.emplace_back(t.as_string());
    }
    return out;
  }
};

TEST_F(SchedulePreview, GivesTheNextFiveFiresByDefault) {
  clock_.now = 1'780'000'000'000;  // 2026-05-28T20:26:40Z
  auto r = preview("cron=*/15 * * * *&timezone=UTC", super_);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(times(r),
            (std::vector<std::string>{"2026-05-28T20:30:00.000Z", "2026-05-28T20:45:00.000Z",
                                      "2026-05-28T21:00:00.000Z", "2026-05-28T21:15:00.000Z",
                                      "2026-05-28T21:30:00.000Z"}));
}

TEST_F(SchedulePreview, FollowsTheTimeZoneAcrossADaylightSavingChange) {
  // Paris leaves summer time on 2026-10-25 at 03:00 (01:00Z): 02:xx local happens twice.
  clock_.now = 1'792'800'000'000;  // 2026-10-24T00:00:00Z
  auto daily = preview("cron=30 2 * * *&timezone=Europe/Paris&count=3", super_);
  ASSERT_EQ(daily.status, 200) << daily.raw.body;
  // 02:30 at +02:00, then once only (the first 02:30) on the day of the change, then +01:00.
  EXPECT_EQ(times(daily),
            (std::vector<std::string>{"2026-10-24T00:30:00.000Z", "2026-10-25T00:30:00.000Z",
                                      "2026-10-26T01:30:00.000Z"}));
  // A wildcard hour fires at both 02:00s, an hour apart in UTC.
  clock_.now = 1'792'880'400'000;  // 2026-10-24T22:20:00Z (00:20 local)
  auto hourly = preview("cron=0 * * * *&timezone=Europe/Paris&count=4", super_);
  ASSERT_EQ(hourly.status, 200) << hourly.raw.body;
  EXPECT_EQ(times(hourly),
            (std::vector<std::string>{"2026-10-24T23:00:00.000Z", "2026-10-25T00:00:00.000Z",
                                      "2026-10-25T01:00:00.000Z", "2026-10-25T02:00:00.000Z"}));
}

TEST_F(SchedulePreview, MatchesTheNextFireOfASchedule) {
  clock_.now = 1'780'000'000'000;
  auto r = preview("cron=@daily&timezone=America/New_York&count=1", super_);
  ASSERT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(times(r), std::vector<std::string>{"2026-05-29T04:00:00.000Z"});
}

TEST_F(SchedulePreview, ABadCronOrTimeZoneIsRefusedWithTheParsersMessage) {
  auto minute = preview("cron=61 * * * *", super_);
  EXPECT_EQ(minute.status, 400);
  EXPECT_EQ(minute.body.at("detail"), "cron: minute: 61 out of range 0..59");
  auto zone = preview("cron=0 * * * *&timezone=Mars/Olympus", super_);
  EXPECT_EQ(zone.status, 400);
  EXPECT_THAT(std::string(zone.body.at("detail").as_string()), HasSubstr("timezone: "));
  auto never = preview("cron=0 0 30 2 *", super_);
  EXPECT_EQ(never.status, 400);
  EXPECT_EQ(never.body.at("detail"), "cron: never fires");
  for (const char* bad : {"count=0", "count=21", "count=x", "count=5&cron=", "cron=@hourly&x=1"}) {
    auto r = preview(bad, super_);
    EXPECT_EQ(r.status, 400) << bad << ": " << r.raw.body;
    EXPECT_TRUE(r.body.at("detail").is_string()) << bad;
  }
  EXPECT_EQ(preview("timezone=UTC", super_).body.at("detail"), "cron: required");
  EXPECT_EQ(times(preview("cron=@hourly&count=20", super_)).size(), 20u);
}

TEST_F(SchedulePreview, AViewerMayPreviewAndNothingIsStored) {
  auto tenant = make_tenant("acme");
  auto r = preview("cron=@hourly", tenant.viewer);
  EXPECT_EQ(r.status, 200) << r.raw.body;
  EXPECT_EQ(times(r).size(), 5u);
  EXPECT_TRUE(get("/api/v1/schedules", tenant.viewer).body.at("items").as_array().empty());
  EXPECT_EQ(preview("cron=@hourly", Cred{}).status, 401);
}

}  // namespace
}  // namespace hecs::control::api::test
