// One shared minute tick so every relative time in the list re-renders together, instead of a
// timer per row.
class Clock {
  now = $state(Date.now());

  constructor() {
    const tick = () => {
      this.now = Date.now();
      // Align to the minute boundary so "5m" flips to "6m" when it should.
      setTimeout(tick, 60_000 - (Date.now() % 60_000) + 50);
    };
    setTimeout(tick, 60_000 - (Date.now() % 60_000) + 50);
  }
}

export const clock = new Clock();
