// smokehub-serial: an Arduino (ATmega328P / ESP32) smoke detector speaking the smokehub serial
// line protocol (docs/serial-protocol.md) to smokehub-bridge --serial /dev/ttyUSB0 --baud 9600.
//
// Wiring: MQ-2 analog out → A0; push button between pin 2 and GND (internal pull-up);
//         active piezo buzzer on pin 3; LED on pin 13.
// Button: press while sounding = silence (hush during own pre-alarm); press when quiet = panic.

const uint8_t SMOKE_PIN = A0;
const uint8_t BUTTON_PIN = 2;
const uint8_t PIEZO_PIN = 3;
const uint8_t LED_PIN = 13;
const int SMOKE_THRESHOLD = 400;      // raw ADC
const int SMOKE_HYSTERESIS = 50;
const unsigned long TELEMETRY_MS = 60000UL;
const unsigned long DEBOUNCE_MS = 30;

// T3 temporal pattern: on 500, off 500, on 500, off 500, on 500, off 1500 (ms).
const unsigned int T3[] = {500, 500, 500, 500, 500, 1500};

bool sounding = false;
uint8_t t3Step = 0;
unsigned long t3Since = 0;
bool smokeAlarm = false;
unsigned long lastTelemetry = 0;
int lastButton = HIGH;
unsigned long buttonChanged = 0;
bool buttonHandled = true;
bool testPending = false;
unsigned long testSince = 0;

char line[129];
uint8_t lineLen = 0;
bool lineTooLong = false;

void startSounding() {
  if (!sounding) { sounding = true; t3Step = 0; t3Since = millis(); }
}
void stopSounding() {
  sounding = false;
  digitalWrite(PIEZO_PIN, LOW);
  digitalWrite(LED_PIN, LOW);
}

void updateSounder() {
  if (!sounding) return;
  if (millis() - t3Since >= T3[t3Step]) { t3Step = (t3Step + 1) % 6; t3Since = millis(); }
  bool on = (t3Step % 2) == 0;
  digitalWrite(PIEZO_PIN, on ? HIGH : LOW);
  digitalWrite(LED_PIN, on ? HIGH : LOW);
}

void handleBridgeLine(const char *l) {
  if (strncmp(l, "ALARM ", 6) == 0) {
    startSounding();
  } else if (strcmp(l, "SILENCE") == 0) {
    stopSounding();
  } else if (strcmp(l, "TEST") == 0) {
    digitalWrite(PIEZO_PIN, HIGH);
    testPending = true;
    testSince = millis();
  }
  // STANDDOWN, OK and ERR need no action here (SILENCE follows a stand-down when all is quiet).
}

void readBridge() {
  while (Serial.available() > 0) {
    char c = (char)Serial.read();
    if (c == '\r') continue;
    if (c == '\n') {
      if (!lineTooLong) { line[lineLen] = '\0'; handleBridgeLine(line); }
      lineLen = 0;
      lineTooLong = false;
    } else if (lineLen < sizeof(line) - 1) {
      line[lineLen++] = c;
    } else {
      lineTooLong = true;
    }
  }
}

void setup() {
  pinMode(BUTTON_PIN, INPUT_PULLUP);
  pinMode(PIEZO_PIN, OUTPUT);
  pinMode(LED_PIN, OUTPUT);
  Serial.begin(9600);
  delay(200);
  Serial.println(F("HELLO smokehub-serial/1.0"));
}

void loop() {
  unsigned long now = millis();
  readBridge();

  int smoke = analogRead(SMOKE_PIN);
  if (!smokeAlarm && smoke >= SMOKE_THRESHOLD) {
    smokeAlarm = true;
    startSounding();                     // sound at once, hub or no hub
    Serial.print(F("EVENT smoke ")); Serial.println(smoke);
  } else if (smokeAlarm && smoke < SMOKE_THRESHOLD - SMOKE_HYSTERESIS) {
    smokeAlarm = false;
    Serial.print(F("EVENT clear ")); Serial.println(smoke);
  }

  int b = digitalRead(BUTTON_PIN);
  if (b != lastButton) { lastButton = b; buttonChanged = now; buttonHandled = false; }
  if (!buttonHandled && now - buttonChanged >= DEBOUNCE_MS) {
    buttonHandled = true;
    if (b == LOW) {                      // pressed (pull-up)
      if (sounding) { stopSounding(); Serial.println(F("EVENT hush")); }
      else { Serial.println(F("EVENT panic")); }
    }
  }

  if (testPending && now - testSince >= 300) {
    testPending = false;
    if (!sounding) digitalWrite(PIEZO_PIN, LOW);
    Serial.print(F("EVENT test ")); Serial.println(smoke);
  }

  if (now - lastTelemetry >= TELEMETRY_MS) {
    lastTelemetry = now;
    Serial.print(F("TELEMETRY smoke=")); Serial.println(smoke);
  }

  updateSounder();
}
