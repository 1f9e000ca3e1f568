// GET /api/v1/devices/events end to end (issue 7, point 2): real Mosquitto, hecs-control and
// hecs-agent. A stream opened on the fleet sees an agent that stops go offline within seconds,
// pushed by ingest rather than polled.
#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

#include <boost/json.hpp>
#include <curl/curl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/hecs.h"
#include "support/mosquitto.h"

namespace hecs::test {
namespace {
namespace json = boost::json;
using std::chrono::seconds;
using ::testing::HasSubstr;

// Reads an event stream on a thread with libcurl until stop() (or the server ends it).
class EventReader {
 public:
  EventReader(const std::string& url, const std::string& api_key) {
    thread_ = std::thread([this, url, api_key] { run(url, api_key); });
  }
  ~EventReader() { stop(); }
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  std::string text() const {
    std::lock_guard lock(mutex_);
    return text_;
  }
  long status() const { return status_; }

 private:
  static std::size_t on_data(char* data, std::size_t size, std::size_t n, void* self_ptr) {
    auto* self = static_cast<EventReader*>(self_ptr);
    std::lock_guard lock(self->mutex_);
    self->text_.append(data, size * n);
    return size * n;
  }
  static int on_progress(void* self_ptr, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<EventReader*>(self_ptr)->stopping_ ? 1 : 0;  // non-zero: abort
  }
  void run(const std::string& url, const std::string& api_key) {
    CURL* curl = curl_easy_init();
    curl_slist* headers = curl_slist_append(nullptr, ("Authorization: Bearer " + api_key).c_str());
    headers = curl_slist_append(headers, "Accept: text/event-stream");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);  // bounded, whatever happens
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    status_ = status;
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
  }

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<long> status_{0};
  mutable std::mutex mutex_;
  std::string text_;
};

bool is_online(const Control& control, const std::string& id) {
  auto d = control.device(id);
  return d.is_object() && d.at("online").is_bool() && d.at("online").as_bool();
}

TEST(DeviceEvents, AStoppedAgentGoesOfflineOnTheStreamWithinSeconds) {
  auto broker = Mosquitto::start();
  auto control = Control::start(broker->url());
  auto agent = Agent::start(*control);
  ASSERT_TRUE(wait_until([&] { return is_online(*control, agent->device_id()); }, seconds(20)))
      << "the agent never came online";

  EventReader reader(control->url() + "/api/v1/devices/events", control->api_key());
  ASSERT_TRUE(wait_until([&] { return reader.text().find("event: counts") != std::string::npos; },
                         seconds(10)))
      << reader.text();
  EXPECT_THAT(reader.text(), HasSubstr(R"("online":1)"));

  const auto stopped_at = std::chrono::steady_clock::now();
  agent->kill(SIGTERM);
  const std::string offline =
      R"("id":")" + agent->device_id() + R"(","hostname":)";  // then …"online":false
  auto went_offline = [&] {
    auto text = reader.text();
    for (auto at = text.find(offline); at != std::string::npos; at = text.find(offline, at + 1)) {
      auto end = text.find('\n', at);
      if (text.substr(at, end - at).find(R"("online":false)") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  ASSERT_TRUE(wait_until(went_offline, seconds(10))) << reader.text();
  const auto after = std::chrono::steady_clock::now() - stopped_at;
  EXPECT_LT(after, seconds(10));
  std::cout << "offline on the stream "
            << std::chrono::duration_cast<std::chrono::milliseconds>(after).count()
            << " ms after SIGTERM\n";
  // The counts that follow the change say so too.
  ASSERT_TRUE(wait_until(
      [&] { return reader.text().find(R"("online":0,"offline":1)") != std::string::npos; },
      seconds(5)))
      << reader.text();
  reader.stop();
  EXPECT_EQ(reader.status(), 200);
}

}  // namespace
}  // namespace hecs::test
