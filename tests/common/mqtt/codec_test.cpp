// hecs-sim's MQTT 3.1.1 codec against bytes computed by hand from the standard (OASIS MQTT
// 3.1.1, §2 and §3).
#include "common/mqtt/codec.h"

#include <initializer_list>
#include <variant>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace hecs::mqtt {
namespace {

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) {
    out.push_back(static_cast<char>(v));
  }
  return out;
}

std::string hex(std::string_view data) {
  std::string out;
  for (char c : data) {
    out += fmt::format("{:02x} ", static_cast<unsigned char>(c));
  }
  return out;
}

// Decodes exactly one complete packet of type T from `data`.
template <class T>
T decode_one(const std::string& data) {
  auto decoded = decode_packet(data);
  EXPECT_TRUE(decoded) << decoded.error().message;
  if (!decoded || !*decoded) {
    ADD_FAILURE() << "incomplete: " << hex(data);
    return T{};
  }
  EXPECT_EQ((*decoded)->size, data.size());
  const T* packet = std::get_if<T>(&(*decoded)->packet);
  if (packet == nullptr) {
    ADD_FAILURE() << "another packet type: " << hex(data);
    return T{};
  }
  return *packet;
}

// The reason a malformed packet is refused; empty when it is not refused.
std::string refusal(const std::string& data, std::size_t max = kDefaultMaxPacketBytes) {
  auto decoded = decode_packet(data, max);
  if (decoded) {
    return {};
  }
  EXPECT_EQ(decoded.error().code, Errc::invalid_input);
  return decoded.error().message;
}

TEST(MqttEncode, ConnectWithAWillCarriesEveryFieldInOrder) {
  Will will{"w", "x", 1, true};
  std::string out;
  ASSERT_TRUE(append_connect(out, {"c1", true, 60, &will}));
  EXPECT_EQ(hex(out), hex(bytes({0x10, 20,                         // CONNECT, length
                                 0,    4,  'M', 'Q', 'T', 'T', 4,  // protocol, level 4
                                 0x2e,                             // clean|will|qos1|retain
                                 0,    60,                         // keepalive
                                 0,    2,  'c', '1', 0,   1,   'w', 0, 1, 'x'})));  // id, will
}

TEST(MqttEncode, ConnectWithoutWillOrCleanSessionHasNoFlags) {
  std::string out;
  ASSERT_TRUE(append_connect(out, {"id", false, 5, nullptr}));
  EXPECT_EQ(hex(out),
            hex(bytes({0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x00, 0, 5, 0, 2, 'i', 'd'})));
}

TEST(MqttEncode, PublishQos1CarriesItsPacketIdAndRetainFlag) {
  std::string out;
  ASSERT_TRUE(append_publish(out, "a/b", "hi", 1, true, 0x1234));
  EXPECT_EQ(hex(out), hex(bytes({0x33, 9, 0, 3, 'a', '/', 'b', 0x12, 0x34, 'h', 'i'})));
}

TEST(MqttEncode, PublishQos0HasNoPacketId) {
  std::string out;
  ASSERT_TRUE(append_publish(out, "t", "", 0, false, 99));
  EXPECT_EQ(hex(out), hex(bytes({0x30, 3, 0, 1, 't'})));
}

TEST(MqttEncode, PublishOf128BytesTakesTwoLengthBytes) {
  std::string out;
  ASSERT_TRUE(append_publish(out, "t", std::string(125, 'p'), 0, false, 0));
  ASSERT_EQ(out.size(), 3 + 128u);
  EXPECT_EQ(hex(out.substr(0, 6)), hex(bytes({0x30, 0x80, 0x01, 0, 1, 't'})));
}

TEST(MqttEncode, PubackSubscribePingreqAndDisconnect) {
  std::string out;
  append_puback(out, 7);
  EXPECT_EQ(hex(out), hex(bytes({0x40, 2, 0, 7})));
  out.clear();
  ASSERT_TRUE(append_subscribe(out, 1, "hecs/x", 1));
  EXPECT_EQ(hex(out), hex(bytes({0x82, 11, 0, 1, 0, 6, 'h', 'e', 'c', 's', '/', 'x', 1})));
  out.clear();
  append_pingreq(out);
  EXPECT_EQ(hex(out), hex(bytes({0xc0, 0})));
  out.clear();
  append_disconnect(out);
  EXPECT_EQ(hex(out), hex(bytes({0xe0, 0})));
}

TEST(MqttEncode, AppendsAfterWhatIsAlreadyQueued) {
  std::string out;
  append_pingreq(out);
  append_puback(out, 0x0102);
  EXPECT_EQ(hex(out), hex(bytes({0xc0, 0, 0x40, 2, 1, 2})));
}

TEST(MqttEncode, RefusesWhatMqttCannotCarryAndLeavesTheBufferAsItWas) {
  std::string out = "queued";
  std::string long_text(65536, 'a');
  Will will{long_text, "x", 1, true};
  EXPECT_FALSE(append_connect(out, {long_text, true, 60, nullptr}));
  EXPECT_FALSE(append_connect(out, {"id", true, 60, &will}));
  EXPECT_FALSE(append_publish(out, long_text, "x", 0, false, 0));
  EXPECT_FALSE(append_publish(out, "t", "x", 2, false, 1));  // QoS 2 is not supported
  EXPECT_FALSE(append_publish(out, "t", "x", 1, false, 0));  // QoS 1 needs a packet id
  EXPECT_FALSE(append_subscribe(out, 0, "t", 1));
  EXPECT_FALSE(append_subscribe(out, 1, "t", 3));
  auto r = append_publish(out, "t", "x", 1, false, 0);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_input);
  EXPECT_EQ(r.error().message, "packet id 0 for qos 1");
  EXPECT_EQ(out, "queued");
}

TEST(MqttRemainingLength, EncodesEachBoundaryInTheFewestBytes) {
  struct Case {
    std::size_t value;
    std::string encoded;
  } cases[] = {
      {0, bytes({0x00})},
      {127, bytes({0x7f})},
      {128, bytes({0x80, 0x01})},
      {16383, bytes({0xff, 0x7f})},
      {16384, bytes({0x80, 0x80, 0x01})},
      {2097151, bytes({0xff, 0xff, 0x7f})},
      {2097152, bytes({0x80, 0x80, 0x80, 0x01})},
      {268435455, bytes({0xff, 0xff, 0xff, 0x7f})},
  };
  for (const auto& c : cases) {
    std::string out;
    ASSERT_TRUE(append_remaining_length(out, c.value)) << c.value;
    EXPECT_EQ(hex(out), hex(c.encoded)) << c.value;
    auto decoded = decode_remaining_length(c.encoded);
    ASSERT_TRUE(decoded && *decoded) << c.value;
    EXPECT_EQ((*decoded)->value, c.value);
    EXPECT_EQ((*decoded)->bytes, c.encoded.size());
  }
}

TEST(MqttRemainingLength, RefusesToEncodeMoreThanFourBytesCanHold) {
  std::string out;
  auto r = append_remaining_length(out, 268435456);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "remaining length 268435456 over the maximum 268435455");
  EXPECT_TRUE(out.empty());
}

TEST(MqttRemainingLength, AsksForMoreBytesUntilTheLastOneAndRefusesAFifth) {
  auto partial = decode_remaining_length(bytes({0x80, 0x80}));
  ASSERT_TRUE(partial);
  EXPECT_FALSE(*partial);
  auto empty = decode_remaining_length("");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(*empty);
  auto fifth = decode_remaining_length(bytes({0x80, 0x80, 0x80, 0x80, 0x01}));
  ASSERT_FALSE(fifth);
  EXPECT_EQ(fifth.error().message, "remaining length: more than 4 bytes");
}

TEST(MqttDecode, Connack) {
  auto accepted = decode_one<Connack>(bytes({0x20, 2, 0, 0}));
  EXPECT_FALSE(accepted.session_present);
  EXPECT_EQ(accepted.return_code, 0);
  auto refused = decode_one<Connack>(bytes({0x20, 2, 1, 5}));
  EXPECT_TRUE(refused.session_present);
  EXPECT_EQ(refused.return_code, 5);
  EXPECT_EQ(connack_reason(5), "not authorized");
  EXPECT_EQ(connack_reason(42), "unknown");
}

TEST(MqttDecode, PubackAndSuback) {
  EXPECT_EQ(decode_one<Puback>(bytes({0x40, 2, 0x12, 0x34})).packet_id, 0x1234);
  auto granted = decode_one<Suback>(bytes({0x90, 3, 0, 1, 1}));
  EXPECT_EQ(granted.packet_id, 1);
  EXPECT_EQ(granted.return_codes, std::vector<std::uint8_t>{1});
  auto failed = decode_one<Suback>(bytes({0x90, 4, 0, 2, 0x80, 0}));
  EXPECT_EQ(failed.return_codes, (std::vector<std::uint8_t>{0x80, 0}));
}

TEST(MqttDecode, PublishQos1AndQos0) {
  auto q1 = decode_one<Publish>(bytes({0x3b, 9, 0, 3, 'a', '/', 'b', 0, 5, 'o', 'k'}));
  EXPECT_EQ(q1.topic, "a/b");
  EXPECT_EQ(q1.payload, "ok");
  EXPECT_EQ(q1.qos, 1);
  EXPECT_TRUE(q1.retain);
  EXPECT_TRUE(q1.dup);
  EXPECT_EQ(q1.packet_id, 5);
  auto q0 = decode_one<Publish>(bytes({0x30, 5, 0, 3, 'a', '/', 'b'}));
  EXPECT_EQ(q0.topic, "a/b");
  EXPECT_EQ(q0.payload, "");
  EXPECT_EQ(q0.qos, 0);
  EXPECT_EQ(q0.packet_id, 0);
  auto utf8 = decode_one<Publish>(bytes({0x30, 6, 0, 4, 't', 0xc3, 0xa9, 't'}));  // "tét"
  EXPECT_EQ(utf8.topic, "t\xc3\xa9t");
}

TEST(MqttDecode, Pingresp) { decode_one<Pingresp>(bytes({0xd0, 0})); }

TEST(MqttDecode, ReadsPacketsOneAfterTheOther) {
  std::string stream = bytes({0x40, 2, 0, 1, 0xd0, 0, 0x40});
  auto first = decode_packet(stream);
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->size, 4u);
  auto second = decode_packet(std::string_view(stream).substr(4));
  ASSERT_TRUE(second && *second);
  EXPECT_TRUE(std::holds_alternative<Pingresp>((*second)->packet));
  auto third = decode_packet(std::string_view(stream).substr(6));
  ASSERT_TRUE(third);
  EXPECT_FALSE(*third);  // one byte of the next packet: wait for more
}

TEST(MqttDecode, AsksForMoreBytesForEveryTruncationOfAValidPacket) {
  for (const auto& packet :
       {bytes({0x20, 2, 0, 0}), bytes({0x40, 2, 0x12, 0x34}), bytes({0x90, 3, 0, 1, 1}),
        bytes({0x32, 9, 0, 3, 'a', '/', 'b', 0, 5, 'o', 'k'}), bytes({0xd0, 0})}) {
    for (std::size_t n = 0; n < packet.size(); ++n) {
      auto decoded = decode_packet(packet.substr(0, n));
      ASSERT_TRUE(decoded) << hex(packet.substr(0, n)) << decoded.error().message;
      EXPECT_FALSE(*decoded) << hex(packet.substr(0, n));
    }
  }
}

TEST(MqttDecode, RefusesWrongFixedHeaderFlags) {
  EXPECT_EQ(refusal(bytes({0x21, 2, 0, 0})), "connack: flags 0x1, expected 0x0");
  EXPECT_EQ(refusal(bytes({0x42, 2, 0, 1})), "puback: flags 0x2, expected 0x0");
  EXPECT_EQ(refusal(bytes({0x98, 3, 0, 1, 1})), "suback: flags 0x8, expected 0x0");
  EXPECT_EQ(refusal(bytes({0xd1, 0})), "pingresp: flags 0x1, expected 0x0");
  EXPECT_EQ(refusal(bytes({0x36, 5, 0, 1, 't', 0, 1})), "publish: qos 3");
  EXPECT_EQ(refusal(bytes({0x34, 5, 0, 1, 't', 0, 1})), "publish: qos 2, never subscribed to");
  EXPECT_EQ(refusal(bytes({0x38, 3, 0, 1, 't'})), "publish: dup set on qos 0");
  EXPECT_EQ(refusal(bytes({0x20, 2, 0x02, 0})), "connack: reserved acknowledge flags 0x2");
}

TEST(MqttDecode, RefusesLengthsThatDoNotMatchThePacket) {
  EXPECT_EQ(refusal(bytes({0x20, 3, 0, 0, 0})), "connack: remaining length 3, expected 2");
  EXPECT_EQ(refusal(bytes({0x40, 1, 0})), "puback: remaining length 1, expected 2");
  EXPECT_EQ(refusal(bytes({0x90, 2, 0, 1})), "suback: remaining length 2, at least 3");
  EXPECT_EQ(refusal(bytes({0xd0, 1, 0})), "pingresp: remaining length 1, expected 0");
  EXPECT_EQ(refusal(bytes({0x30, 1, 0})), "publish: truncated topic length");
  EXPECT_EQ(refusal(bytes({0x30, 4, 0, 5, 'a', 'b'})), "publish: topic of 5 bytes, 2 left");
  EXPECT_EQ(refusal(bytes({0x32, 4, 0, 1, 't', 0})), "publish: truncated packet id");
}

TEST(MqttDecode, RefusesBadContent) {
  EXPECT_EQ(refusal(bytes({0x90, 3, 0, 1, 3})), "suback: return code 0x3");
  EXPECT_EQ(refusal(bytes({0x32, 5, 0, 1, 't', 0, 0})), "publish: packet id 0");
  EXPECT_EQ(refusal(bytes({0x30, 2, 0, 0})), "publish: empty topic");
  EXPECT_EQ(refusal(bytes({0x30, 5, 0, 3, 'a', '/', '#'})), "publish: wildcard in topic");
  EXPECT_EQ(refusal(bytes({0x30, 4, 0, 2, 0xc0, 0x80})), "publish: topic is not valid utf-8");
  EXPECT_EQ(refusal(bytes({0x30, 3, 0, 1, 0})), "publish: topic is not valid utf-8");
  EXPECT_EQ(refusal(bytes({0x30, 4, 0, 2, 'a', 0xe2})), "publish: topic is not valid utf-8");
  EXPECT_EQ(refusal(bytes({0x30, 5, 0, 3, 0xed, 0xa0, 0x80})),  // a surrogate
            "publish: topic is not valid utf-8");
}

TEST(MqttDecode, RefusesPacketsAClientNeverReceives) {
  EXPECT_EQ(refusal(bytes({0x10, 0})), "unexpected packet type 1");         // CONNECT
  EXPECT_EQ(refusal(bytes({0x50, 2, 0, 1})), "unexpected packet type 5");   // PUBREC
  EXPECT_EQ(refusal(bytes({0xb0, 2, 0, 1})), "unexpected packet type 11");  // UNSUBACK
  EXPECT_EQ(refusal(bytes({0xe0, 0})), "unexpected packet type 14");        // DISCONNECT
  EXPECT_EQ(refusal(bytes({0x00, 0})), "unexpected packet type 0");
  EXPECT_EQ(refusal(bytes({0xf0, 0})), "unexpected packet type 15");
}

TEST(MqttDecode, RefusesAPacketOverTheLimitBeforeItArrives) {
  // 300,000 bytes announced, 4 present: refused now, not buffered.
  std::string header = bytes({0x30});
  ASSERT_TRUE(append_remaining_length(header, 300000));
  EXPECT_EQ(refusal(header), "packet of 300004 bytes over the limit of 262144");

  std::string at_limit;
  ASSERT_TRUE(append_publish(at_limit, "t", std::string(100 - 2 - 3, 'x'), 0, false, 0));
  ASSERT_EQ(at_limit.size(), 100u);
  EXPECT_EQ(refusal(at_limit, 100), "");
  EXPECT_EQ(refusal(at_limit, 99), "packet of 100 bytes over the limit of 99");
}

TEST(MqttDecode, RefusesARemainingLengthOfFiveBytes) {
  EXPECT_EQ(refusal(bytes({0x30, 0x80, 0x80, 0x80, 0x80, 0x01})),
            "remaining length: more than 4 bytes");
}

}  // namespace
}  // namespace hecs::mqtt
