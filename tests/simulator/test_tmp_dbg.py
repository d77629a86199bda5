import asyncio, json, time
from conftest import ClientFactory
from maicoin.ws.testing import Faults, MaxSimulator
SUB = {"action": "sub", "id": "s", "subscriptions": [{"channel": "trade", "market": "btcusdt"}]}

async def test_dbg(sim: MaxSimulator, client: ClientFactory) -> None:
    sim.faults = Faults(unknown_every=2, malformed_every=3)
    t = time.perf_counter()
    async with client() as c:
        await c.send(SUB)
        await sim.wait_until(lambda: sim.all_connections[0].frames_sent >= 4)
        print("A", time.perf_counter() - t)
        sim.step(12)
        raw = [await c.recv_raw() for _ in range(8)]
        print("B", time.perf_counter() - t)
        async def dump():
            await asyncio.sleep(2)
            for task in asyncio.all_tasks():
                print(task)
                task.print_stack(limit=6)
        d = asyncio.create_task(dump())
    print("C", time.perf_counter() - t)
