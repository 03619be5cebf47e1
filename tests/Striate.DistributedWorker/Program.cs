using System.Runtime.InteropServices;
using Striate.Distributed;
using Striate.IO;

namespace Striate.DistributedWorker;

/// <summary>
/// <c>mpirun -np N dotnet Striate.DistributedWorker.dll SCENARIO [ARGS]</c>: runs one scenario of the distributed tests
/// on MPI. Scenarios: <c>collectives SEED</c>; <c>train MODEL STEPS BATCH SYNCBN ACCUMULATION OVERLAP OUT</c> (rank 0
/// writes the final weights to OUT); <c>die</c> (rank 1 is killed mid-run); <c>hang</c> (rank 1 stops taking part).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        using var group = MpiProcessGroup.Initialize();
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ =>
            Console.Error.WriteLine($"worker rank {group.Rank}: stopped by the MPI launcher (SIGTERM), because another process failed."));
        try
        {
            switch (args[0])
            {
                case "collectives":
                    int checks = Scenarios.CheckCollectives(group, int.Parse(args[1]));
                    Console.WriteLine($"rank {group.Rank} of {group.WorldSize}: {checks} collective checks passed ({group.Description}, {group.Flavor}).");
                    break;
                case "train":
                    var scenario = new TrainScenario(args[1], int.Parse(args[2]), int.Parse(args[3]), bool.Parse(args[4]), int.Parse(args[5]), bool.Parse(args[6]));
                    var state = Scenarios.Train(group, scenario);
                    if (group.Rank == 0) SafetensorsWriter.Save(args[7], state);
                    Console.WriteLine($"rank {group.Rank}: trained {scenario}.");
                    break;
                case "die":
                case "hang":
                    var buffer = new float[1 << 16];
                    for (int i = 0; i < 1000; i++)
                    {
                        if (group.Rank == 1 && i == 20)
                        {
                            Console.WriteLine($"rank 1: {(args[0] == "die" ? "killing itself" : "no longer taking part")} at step {i}.");
                            Console.Out.Flush();
                            if (args[0] == "die") System.Diagnostics.Process.GetCurrentProcess().Kill();
                            Thread.Sleep(Timeout.Infinite);
                        }
                        group.AllReduce(buffer);
                        Thread.Sleep(10);
                    }
                    Console.WriteLine($"rank {group.Rank}: finished all steps, which it should not have.");
                    break;
                default:
                    throw new ArgumentException($"unknown scenario '{args[0]}'");
            }
            return 0;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"worker rank {group.Rank}: {e.Message}");
            group.Abort(1);
            return 1;
        }
    }
}
